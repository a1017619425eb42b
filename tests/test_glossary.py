"""The glossary (../shared/GLOSSARY.md) holds: one Chinese term per concept in the compiled
catalogue, full-width brackets next to Chinese on the pages and in the PDFs a store manager
reads, and exports in the reader's language."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from pypdf import PdfReader
from sqlalchemy import select

from auditapp.demo import DEMO_PASSWORD
from auditapp.extensions import db
from auditapp.models import Store, User, Visit
from auditapp.models.visit import RELEASED

from .test_i18n import _render_all, demo  # noqa: F401  (the demo chain fixture)

MO = Path(__file__).resolve().parent.parent / "auditapp/translations/zh_CN/LC_MESSAGES/messages.mo"

#: Known wrong variants in a Chinese text → the glossary's term.
WRONG_VARIANTS = {
    "宗": "条 (measure word for complaints)",
    "神秘客": "神秘顾客",
    "神秘访客": "神秘顾客",
    "佯装购物者": "神秘顾客",
    "神秘访店": "神秘顾客访店",
    "质量保险": "品质稽核",
    "QA 稽核": "品质稽核",
    "项目": "检查项 (a questionnaire item)",
    "账户": "账号",
    "收据": "小票",
    "关联门店": "回避门店",
    "重新指派": "改派",
    "支持": "申诉成立 (uphold a dispute)",
    "营业中": "启用 (active)",
    "在职": "启用 (active)",
    "顾客满意度": "顾客满意级度 (CSM)",
    "起始分": "分数线",
    "最低分": "分数线",
    "重新打开": "退回门店",
}
#: Words that may legitimately contain a variant above.
ALLOWED = {"不支持", "技术支持"}
CJK = r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff60]"
#: A half-width bracket touching Chinese text (ignoring the brackets of ``%(name)s``).
HALF_WIDTH_NEXT_TO_CHINESE = re.compile(
    rf"{CJK}\s?\((?!\w+\)[sdr])|(?<!%)\((?!\w+\)[sdr])[^()]*?{CJK}[^()]*?\)|\)\s?{CJK}"
)
#: A space between a placeholder that becomes a Chinese name and the 的 after it.
NAME_SPACE = re.compile(r"%\((store|name|region|s)\)s 的")


def _catalogue() -> list[tuple[str | None, str, str]]:
    with MO.open("rb") as f:
        catalog = read_mo(f)
    entries = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) \
            else (message.string,)
        for text in strings:
            entries.append((message.context, ids[0], text))
    return entries


def _wrong_variants(text: str) -> list[str]:
    for word in ALLOWED:
        text = text.replace(word, "")
    return [w for w in WRONG_VARIANTS if w in text]


def test_wrong_variants_are_caught():
    """The checks themselves: each known slip is found, the right terms pass."""
    assert _wrong_variants("投诉 3 宗") == ["宗"]
    assert _wrong_variants("保存项目") == ["项目"]
    assert _wrong_variants("不支持该语言。") == []
    assert HALF_WIDTH_NEXT_TO_CHINESE.search("杭州西湖店 (E004)")
    assert HALF_WIDTH_NEXT_TO_CHINESE.search("神秘顾客访店 (MS)")
    assert HALF_WIDTH_NEXT_TO_CHINESE.search("(仅总部) 可见")
    assert not HALF_WIDTH_NEXT_TO_CHINESE.search("杭州西湖店（E004）")
    assert not HALF_WIDTH_NEXT_TO_CHINESE.search("%(store)s的 BDI（近 12 个月）")
    assert not HALF_WIDTH_NEXT_TO_CHINESE.search("Rival Burger (Nanjing Rd)")
    assert NAME_SPACE.search("%(store)s 的 BDI") and not NAME_SPACE.search("%(store)s的 BDI")


def test_compiled_catalogue_follows_the_glossary():
    problems = []
    for _context, msgid, text in _catalogue():
        for word in _wrong_variants(text):
            problems.append(f"{msgid!r} → {text!r}: {word} should be {WRONG_VARIANTS[word]}")
        if HALF_WIDTH_NEXT_TO_CHINESE.search(text):
            problems.append(f"{msgid!r} → {text!r}: half-width brackets next to Chinese")
        if NAME_SPACE.search(text):
            problems.append(f"{msgid!r} → {text!r}: no space between a name and 的")
        # the CSM scale is 顾客满意级度 / 级度; 等级 is the BDI band only
        if re.search(r"CSM|seven levels|7 levels", msgid) and "等级" in text:
            problems.append(f"{msgid!r} → {text!r}: the CSM scale is 级度, not 等级")
    assert not problems, "\n".join(problems)
    strings = {(context, msgid): text for context, msgid, text in _catalogue()}
    # one msgid, two meanings: the audit log's action is 操作, a corrective action 措施
    assert strings[("audit log", "Action")] == "操作"
    assert "措施" in strings[(None, "Action")]
    assert strings[(None, "Uphold")] == strings[(None, "Upheld")] == "申诉成立"
    assert strings[(None, "Reopen")] == "退回门店"
    assert strings[(None, "New shopper")] == "改派给"


def _manager_and_visit() -> tuple[str, Visit]:
    released = db.session.scalar(
        select(Visit).where(Visit.status == RELEASED, Visit.kind == "mystery",
                            Visit.store_id.is_not(None)).order_by(Visit.id.desc()))
    manager = db.session.scalar(
        select(User).join(User.stores).where(Store.id == released.store_id))
    return manager.username, released


def test_chinese_pages_have_no_half_width_brackets_next_to_chinese(app, demo):  # noqa: F811
    pages = _render_all(app, "zh-CN,zh;q=0.9")
    problems = {}
    for key, (_status, parts) in pages.items():
        bad = [part for part in parts if HALF_WIDTH_NEXT_TO_CHINESE.search(part)]
        bad += [part for part in parts if _wrong_variants(part)]
        if bad:
            problems[key] = bad
    assert not problems, problems
    text = " ".join(pages["hq@example.com /hq/?month=2026-10"][1])
    assert "神秘顾客访店" in text and "品质稽核" in text and "投诉热线" in text  # MS/QA/HL


@pytest.mark.parametrize("kind", ["store", "visit"])
def test_chinese_pdfs_have_no_half_width_brackets_next_to_chinese(app, demo, kind):  # noqa: F811
    username, visit = _manager_and_visit()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    with app.app_context():
        client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD})
    url = (f"/manager/reports/stores/{visit.store_id}.pdf?month={visit.month}" if kind == "store"
           else f"/manager/reports/visits/{visit.id}.pdf")
    with app.app_context(), client.get(url) as response:
        assert response.status_code == 200
        data = response.get_data()
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        assert not HALF_WIDTH_NEXT_TO_CHINESE.search(text), text
        assert not _wrong_variants(text), text
        assert f"第 {number} 页，共 {pages} 页" in " ".join(text.split()), text
