"""Logging in and out, landing pages per role, the language switch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def test_login_page_renders(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b"Log in" in response.data


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    response = client.get("/hq/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("username", "landing"),
    [("hq@example.com", "/hq/"), ("qa@example.com", "/hq/qa"),
     ("m.e001@example.com", "/manager/"), ("MS-101", "/shopper/")],
)
def test_each_role_lands_on_its_page(client, auth, chain, username, landing):
    response = auth.login(username)
    assert response.status_code == 302
    response = client.get("/")
    assert response.headers["Location"].endswith(landing)
    assert client.get(landing).status_code == 200


def test_wrong_password_gets_one_message_for_all_cases(client, auth, chain):
    wrong = auth.login("hq@example.com", "nope")
    unknown = auth.login("nobody@example.com", "nope")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert b"do not match an active account" in response.data
    # what the user typed is kept
    assert b'value="hq@example.com"' in wrong.data


def test_roles_are_kept_apart(client, auth, chain):
    auth.login("MS-101")
    assert client.get("/hq/").status_code == 403
    assert client.get("/manager/").status_code == 403


def test_next_is_only_followed_within_the_site(client, chain):
    response = client.post("/auth/login?next=https://evil.example/x",
                           data={"username": "hq@example.com", "password": "secret-pass"})
    assert response.headers["Location"] == "/"
    client.post("/auth/logout")
    response = client.post("/auth/login?next=/hq/",
                           data={"username": "hq@example.com", "password": "secret-pass"})
    assert response.headers["Location"] == "/hq/"


def test_logout(client, auth, chain):
    auth.login("hq@example.com")
    auth.logout()
    assert client.get("/hq/").status_code == 302


def test_language_switch_and_accept_language(client, chain):
    page = client.get("/auth/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert 'lang="zh-CN"' in page.get_data(as_text=True)
    client.post("/auth/language/en", data={"next": "/auth/login"})
    page = client.get("/auth/login", headers={"Accept-Language": "zh-CN"})
    assert 'lang="en"' in page.get_data(as_text=True)


def test_hq_dashboard_shows_chinese_store_names(client, auth, chain):
    from datetime import date

    from .factories import make_visit

    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 3))
    auth.login("hq@example.com")
    page = client.get("/hq/?month=2026-05").get_data(as_text=True)
    assert "上海南京西路店" in page
    assert "100.0" in page


def test_form_fields_are_drawn_by_the_one_field_macro():
    """Label, widget, hint and errors of a form field come from templates/_form.html; only
    widgets it does not draw (radio groups, the dispute's value chooser) write their errors
    with its ``errors`` macro, so every error has the id its field's ``aria-describedby``
    names (issues #14, #23)."""
    templates = Path(__file__).resolve().parent.parent / "templates"
    own = {
        str(page.relative_to(templates)): len(re.findall(
            r"\{% for e in [\w.]+\.errors %\}", page.read_text(encoding="utf-8")))
        for page in templates.rglob("*.html")
    }
    assert {name: n for name, n in own.items() if n} == {"_form.html": 1}
    for name in ("auth/login.html", "auth/account.html", "hq/settings/index.html",
                 "hq/complaints_form.html", "hq/complaints_detail.html",
                 "hq/masterdata/user_form.html", "manager/visit.html"):
        assert '{% from "_form.html" import field %}' in (templates / name).read_text(), name
