"""Issue #17 item 2 in the browser: static/js/conditions.js agrees with conditions.py on
every case of tests/condition_cases.py, and the phone form shows a "No → why" follow-up
as the server would (and hides it again on "Yes")."""

from __future__ import annotations

import pytest

from auditapp import conditions
from auditapp.extensions import db
from auditapp.models import Visit

from .condition_cases import CASES
from .conftest import browser_login
from .shopper_helpers import make_assignment

pytestmark = pytest.mark.browser


def test_javascript_and_python_agree_on_every_case(live_server, phone):
    phone.goto(f"{live_server}/auth/login")
    phone.add_script_tag(url=f"{live_server}/static/js/conditions.js")
    for name, items, answers, visit_type, kind, expected in CASES:
        in_js = phone.evaluate(
            "([items, answers, vt, kind]) => "
            "Object.keys(AuditConditions.visible(items, answers, vt, kind)).sort()",
            [items, answers, visit_type, kind])
        in_python = conditions.visible(items, answers, visit_type, kind)
        assert set(in_js) == in_python == expected, name


def test_no_shows_why_on_the_phone_and_the_server_agrees(live_server, phone, chain, tmp_path):
    visit = make_assignment(chain, visit_type="drive_thru")
    items = {i.code: i for i in visit.questionnaire.items}
    complete, missing = items["accuracy_complete"], items["accuracy_missing"]
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    # the dine-in section is not part of a drive-thru visit's form at all
    assert phone.locator("[data-code=clean_dining]").count() == 0
    assert phone.locator("[data-code=clean_dining_room]").count() == 0
    for _ in range(3):  # facts, speed, courtesy → accuracy
        phone.click("#next-btn")
    why = phone.locator(f"#item-{missing.id}")
    assert why.is_hidden()
    phone.locator(f"#item-{complete.id} input[value='0'] + span").click()
    why.wait_for(state="visible")
    phone.fill(f"#v_{missing.id}", "No fries in the bag")
    phone.screenshot(path=str(tmp_path / "no-why.png"))
    phone.locator(f"#item-{complete.id} input[value='1'] + span").click()
    why.wait_for(state="hidden")
    phone.locator(f"#item-{complete.id} input[value='0'] + span").click()
    why.wait_for(state="visible")
    # the draft the form saves is rendered by the server with the follow-up shown
    def saved() -> str | None:
        db.session.expire_all()
        draft = db.session.get(Visit, visit.id).draft or {}
        return draft.get("answers", {}).get(str(complete.id), {}).get("value")

    for _ in range(50):  # the autosave after the last change
        if saved() in (0, "0"):
            break
        phone.wait_for_timeout(200)
    assert db.session.get(Visit, visit.id).draft["answers"][str(missing.id)]["value"] \
        == "No fries in the bag"
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    assert phone.locator(f"#item-{missing.id}").get_attribute("hidden") is None
