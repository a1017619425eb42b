"""Simplified Chinese and English throughout: every main page of every role, in both languages.

The Chinese page's visible text (including titles, placeholders and ARIA labels) may hold
English only where it is data (store, region, user and questionnaire names, codes, comments)
or a fixed acronym; the English page may hold Chinese only where it is data.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from auditapp.demo import DEMO_PASSWORD
from auditapp.extensions import db
from auditapp.models import Complaint, Questionnaire, Store, User, Visit
from auditapp.models.visit import ASSIGNED, QA, RELEASED, SUBMITTED

from .i18n_pages import data_strings, english_leftovers, visible_text

PO = Path(__file__).resolve().parent.parent / "auditapp/translations/zh_CN/LC_MESSAGES/messages.po"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
#: Chinese an English page may show: the language switch and the language names.
ZH_ALLOWED_ON_EN = {"中文", "简体中文"}


def _pages() -> dict[str | None, list[str]]:
    submitted = db.session.scalar(select(Visit).where(Visit.status == SUBMITTED))
    released = db.session.scalar(
        select(Visit).where(Visit.status == RELEASED, Visit.kind == "mystery",
                            Visit.store_id.is_not(None)).order_by(Visit.id.desc()))
    audit = db.session.scalar(select(Visit).where(Visit.status == RELEASED, Visit.kind == QA))
    assigned = db.session.scalar(select(Visit).where(Visit.status == ASSIGNED))
    complaint = db.session.scalar(select(Complaint))
    questionnaire = db.session.scalar(select(Questionnaire))
    manager = db.session.scalar(
        select(User).join(User.stores).where(Store.id == released.store_id))
    store = released.store
    return {
        None: ["/auth/login", "/no-such-page", f"/shopper/t/{assigned.access_token}"],
        "hq@example.com": [
            "/hq/?month=2026-10", "/hq/review", f"/hq/visits/{submitted.id}",
            f"/hq/visits/{released.id}", f"/hq/visits/{audit.id}",
            "/hq/complaints?month=2026-10", f"/hq/complaints/{complaint.id}",
            "/hq/complaints/new", "/hq/stores", f"/hq/stores/{store.id}?month=2026-10",
            f"/hq/stores/{store.id}/edit", "/hq/stores/import", "/hq/regions",
            f"/hq/regions/{store.region_id}?month=2026-10", "/hq/people", "/hq/people/new",
            "/hq/questionnaires", f"/hq/questionnaires/{questionnaire.id}",
            "/hq/scheduling?month=2026-11", "/hq/settings", "/hq/disputes", "/hq/actions",
            "/hq/competitors?month=2026-10", "/hq/competitor-stores", "/hq/api-token",
            "/manager/",  # a 403 error page
        ],
        "qa@example.com": ["/hq/qa", "/auth/account"],
        manager.username: ["/manager/", f"/manager/stores/{store.id}",
                           f"/manager/visits/{released.id}", "/manager/actions"],
        assigned.evaluator.username: ["/shopper/", f"/shopper/visits/{assigned.id}"],
    }


def _render_all(app: Flask, language: str) -> dict[str, tuple[int, list[str]]]:
    pages = {}
    for username, urls in _pages().items():
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        if username:
            # a fresh app context per request: Flask-Login and Flask-Babel cache in ``g``
            with app.app_context():
                response = client.post(
                    "/auth/login", data={"username": username, "password": DEMO_PASSWORD})
                assert response.status_code == 302, username
        for url in urls:
            with app.app_context(), client.get(url) as response:
                html = response.get_data(as_text=True)
            pages[f"{username} {url}"] = (response.status_code, visible_text(html))
    return pages


@pytest.fixture
def demo(app: Flask, load_dataset) -> set[str]:
    """The demo chain (seed_demo, two months up to October 2026)."""
    load_dataset("demo-2-months")
    return data_strings()


def test_every_main_page_is_chinese_in_chinese(app, demo):
    pages = _render_all(app, "zh-CN,zh;q=0.9,en;q=0.5")
    problems = {}
    for key, (status, parts) in pages.items():
        assert status in (200, 403, 404), key
        left = english_leftovers(parts, demo)
        if left:
            problems[key] = left
    assert not problems, problems
    # and they really are Chinese: the headings people read first
    text = {key: " ".join(parts) for key, (_, parts) in pages.items()}
    assert "品牌传递指数" in text["hq@example.com /hq/?month=2026-10"]
    assert "审核队列" in text["hq@example.com /hq/review"]
    assert "此页面不存在" in text["None /no-such-page"]
    assert "您无权访问此页面" in text["hq@example.com /manager/"]
    assert "登录" in text["None /auth/login"]


def test_every_main_page_is_english_in_english(app, demo):
    pages = _render_all(app, "en-GB,en;q=0.9")
    problems = {}
    for key, (status, parts) in pages.items():
        assert status in (200, 403, 404), key
        stray = []
        for part in parts:
            if not CJK.search(part) or part in demo or part in ZH_ALLOWED_ON_EN:
                continue
            rest = part
            for value in sorted((v for v in demo if CJK.search(v) and v in part),
                                key=len, reverse=True):
                rest = rest.replace(value, "")
            if CJK.search(rest):
                stray.append(part)
        if stray:
            problems[key] = stray
    assert not problems, problems
    text = {key: " ".join(parts) for key, (_, parts) in pages.items()}
    assert "Brand Delivery Index" in text["hq@example.com /hq/?month=2026-10"]
    assert "This page does not exist" in text["None /no-such-page"]


def test_labels_dates_and_item_texts_follow_the_language(app, demo):
    released = db.session.scalar(
        select(Visit).where(Visit.status == RELEASED, Visit.kind == "mystery",
                            Visit.store_id.is_not(None)).order_by(Visit.id.desc()))
    manager = db.session.scalar(
        select(User).join(User.stores).where(Store.id == released.store_id))
    item = released.answers[0].item
    assert item.text_zh and item.text_zh != item.text
    client = app.test_client()
    with app.app_context():
        client.post("/auth/login", data={"username": manager.username,
                                         "password": DEMO_PASSWORD})
    url = f"/manager/visits/{released.id}"
    for language, text, day, dimension in (
        ("zh-CN", item.text_zh, f"{released.visit_date.year}年{released.visit_date.month}月",
         "服务速度"),
        ("en", item.text, f"{released.visit_date:%b} {released.visit_date.day}, "
         f"{released.visit_date.year}", "Speed of service"),
    ):
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        with app.app_context(), client.get(url) as response:
            page = response.get_data(as_text=True)
        assert text in page and day in page and dimension in page
        other = item.text if language == "zh-CN" else item.text_zh
        assert other not in page


def test_the_user_setting_beats_the_browser_and_the_switch_saves_it(app, demo):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        client.post("/auth/login", data={"username": "hq@example.com",
                                         "password": DEMO_PASSWORD})
    with app.app_context(), client.get("/hq/review") as response:
        assert "Review queue" in response.get_data(as_text=True)
    with app.app_context():
        client.post("/auth/language/zh_CN", data={"next": "/hq/review"})
    assert db.session.scalar(select(User.locale).where(User.username == "hq@example.com")) \
        == "zh_CN"
    fresh = app.test_client()  # a new session, an English browser: the account's choice wins
    fresh.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        fresh.post("/auth/login", data={"username": "hq@example.com",
                                        "password": DEMO_PASSWORD})
    with app.app_context(), fresh.get("/hq/review") as response:
        assert "审核队列" in response.get_data(as_text=True)


def test_my_account_page_sets_or_clears_the_language(app, demo):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    with app.app_context():
        client.post("/auth/login", data={"username": "qa@example.com",
                                         "password": DEMO_PASSWORD})
        response = client.post("/auth/account", data={"locale": "zh_CN"})
    assert response.status_code == 302
    with app.app_context(), client.get(response.headers["Location"]) as page:
        assert "语言已保存" in page.get_data(as_text=True)
    assert db.session.scalar(select(User.locale).where(User.username == "qa@example.com")) \
        == "zh_CN"
    with app.app_context():
        client.post("/auth/account", data={"locale": ""})
    with app.app_context(), client.get("/hq/qa") as page:
        assert "Start a QA audit" in page.get_data(as_text=True)  # the browser's English again
    assert db.session.scalar(select(User.locale).where(User.username == "qa@example.com")) \
        is None
    with app.app_context():
        response = client.post("/auth/account", data={"locale": "fr"})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)


def test_flash_messages_and_form_errors_are_translated(app, demo):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    with app.app_context():
        response = client.post("/auth/login", data={"username": "nobody", "password": "x"})
    page = response.get_data(as_text=True)
    assert "邮箱/编号或密码不正确" in page
    with app.app_context():
        client.post("/auth/login", data={"username": "hq@example.com",
                                         "password": DEMO_PASSWORD})
        response = client.post("/hq/complaints/new", data={"description": ""})
    page = response.get_data(as_text=True)
    assert "请选择门店" in page and "请描述投诉内容" in page


def test_cli_speaks_the_terminals_language(runner, app, demo, monkeypatch):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = runner.invoke(args=["schedule", "--month", "2026-12", "--dry-run"])
    assert "已安排 0 次访店，将新建" in result.output
    result = runner.invoke(args=["schedule", "--month", "2026-1"])
    assert "月份请按 YYYY-MM" in result.output
    monkeypatch.setenv("LANG", "C.UTF-8")
    result = runner.invoke(args=["schedule", "--month", "2026-12", "--dry-run"])
    assert "0 visits already scheduled, would create" in result.output


def test_generate_speaks_the_terminals_language(runner, app, monkeypatch):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    bad = runner.invoke(args=["generate", "--stores", "2", "--months", "1",
                              "--last-month", "2026-13"])
    assert bad.exit_code != 0 and "月份请按 YYYY-MM" in bad.output
    result = runner.invoke(args=["generate", "--stores", "2", "--months", "1",
                                 "--last-month", "2026-04", "--assign-month", "2026-05"])
    assert result.exit_code == 0, result.output
    assert "已生成 2 家门店" in result.output and "2026-05 有 2 个待完成的任务" in result.output


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)[sdrf]|%%", text))


def test_catalogue_is_complete_and_keeps_placeholders():
    with PO.open("rb") as f:
        catalog = read_po(f)
    untranslated, broken = [], []
    for message in catalog:
        if not message.id:
            continue
        if "fuzzy" in message.flags:
            untranslated.append(message.id)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s.strip() for s in strings):
            untranslated.append(message.id)
            continue
        for s in strings:
            if _placeholders(s) != _placeholders(ids[-1]) and \
                    _placeholders(s) != _placeholders(ids[0]):
                broken.append((message.id, s))
        if not any(CJK.search(s) for s in strings) and ids[0] not in (
                "App", "BDI", "CSM"):
            untranslated.append(message.id)
    assert not untranslated, untranslated
    assert not broken, broken


def test_every_string_in_code_and_templates_is_in_the_catalogue():
    """The catalogue is up to date: nothing marked for translation is missing from it."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parent.parent
    with PO.open("rb") as f:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    method_map = [("auditapp/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
                "lazy_pgettext": ((1, "c"), 2),
                "lazy_gettext": None,
                "_l": None}
    missing = set()
    for _, _, message, _, _ in extract_from_dir(str(root), method_map, keywords=keywords):
        first = message if isinstance(message, str) else message[0]
        if first and first not in known:
            missing.add(first)
    assert not missing, f"run scripts/i18n.sh update and translate: {sorted(missing)}"


def test_local_dt_shows_store_time(app):
    from auditapp.i18n import local_dt

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert local_dt(datetime(2026, 10, 3, 12, 30), "Asia/Shanghai", "yyyy-MM-dd HH:mm") \
            == "2026-10-03 20:30"


def test_every_status_code_has_its_label_in_i18n(app):
    """Visit, action and dispute statuses are labelled in ``i18n.py``, in both languages,
    not in the templates (issue #14)."""
    from auditapp import i18n
    from auditapp.models.followup import ACTION_STATUSES, DISPUTE_STATUSES
    from auditapp.models.visit import VISIT_STATUSES

    for mapping, codes in ((i18n.STATUS_LABELS, VISIT_STATUSES),
                           (i18n.ACTION_STATUS_LABELS, ACTION_STATUSES),
                           (i18n.DISPUTE_STATUS_LABELS, DISPUTE_STATUSES),
                           (i18n.DISPUTE_OUTCOME_LABELS, DISPUTE_STATUSES)):
        assert set(mapping) == set(codes)
        with app.test_request_context(), force_locale("zh_CN"):
            chinese = {i18n.label(mapping, code) for code in codes}
        with app.test_request_context(), force_locale("en"):
            english = {i18n.label(mapping, code) for code in codes}
        assert not chinese & english, (chinese, english)
    templates = Path(__file__).resolve().parent.parent / "templates"
    for page in templates.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for words in ("_('Upheld')", "_('Rejected')", "_('upheld by HQ')", "_('Done')"):
            assert words not in text, (page.name, words)
