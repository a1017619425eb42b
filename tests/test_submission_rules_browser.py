"""Issue #15 in the JavaScript form: a hard rule refused by the server is shown next to its
field, nothing is submitted, and the corrected form goes through."""

from __future__ import annotations

import pytest

from auditapp.extensions import db
from auditapp.models import Visit

from .conftest import browser_login
from .shopper_helpers import make_assignment
from .test_shopper_browser import VALUES, answer_step, fill_facts, full_payload_date

pytestmark = pytest.mark.browser


def test_the_js_form_shows_a_visit_date_outside_the_assignment_by_its_field(
        live_server, phone, chain):
    visit = make_assignment(chain)
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    fill_facts(phone)
    phone.fill("#visit_date", "2019-01-01")
    phone.click("#next-btn")
    phone.fill(f"#v_{timed.id}", "240")
    answer_step(phone, visit, VALUES)
    for _ in range(4):
        phone.click("#next-btn")
        answer_step(phone, visit, VALUES)
    phone.click("#next-btn")
    phone.click("#submit-btn")
    error = phone.locator("#f-visit_date .error")
    error.wait_for()
    assert "within the assignment's period" in error.inner_text()
    assert error.is_visible()
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status != "submitted"
    # corrected, it is sent
    phone.fill("#visit_date", full_payload_date())
    for _ in range(6):  # the five dimensions, then photos and comment
        phone.click("#next-btn")
    phone.click("#submit-btn")
    phone.wait_for_url("**sent=1")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "submitted"
