"""The shopper's audit form in a real phone-sized Chromium: a whole audit with the timer
and a photo, and a submission made offline that arrives exactly once."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import AuditLog, Visit, utcnow

from .conftest import browser_login
from .shopper_helpers import ARRIVAL, asked, expected_score, jpeg_bytes, make_assignment

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("AUDITAPP_SCREENSHOTS")


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def answer_step(page, visit, values):
    """Answer the questions of the current step."""
    for item in visit.questionnaire.items:
        box = page.locator(f"#item-{item.id}")
        if not box.is_visible():
            continue
        v = values.get(item.code)
        if item.item_type == "timed" or v is None:
            continue
        if item.item_type == "number":
            box.locator("input.num").fill(str(v))
            continue
        if v == "na":
            box.locator("input[value=na] + span").click()
        else:
            box.locator(f"input[value='{v}'] + span").click()


VALUES = {"speed_greeted": 1, "speed_satisfaction": 60, "courtesy_smile": 1,
          "courtesy_thanks": 0, "courtesy_satisfaction": 30, "accuracy_complete": 1,
          "accuracy_receipt": 1, "accuracy_condiments": "na", "quality_hot": 1,
          "quality_appearance": 1, "quality_taste": 0, "clean_dining": 1,
          "clean_restroom": 1, "clean_atmosphere": 90}


def full_payload_date() -> str:
    """A visit date inside the assignment's month and never in the future at the store."""
    return f"{utcnow():%Y-%m-%d}"


def fill_facts(page):
    page.fill("#visit_date", full_payload_date())
    page.fill("#arrival_time", ARRIVAL)
    page.locator("input[name=visit_type_confirmed][value='1'] + span").click()
    page.fill("#order_description", "Double burger meal, large cola")
    page.fill("#receipt_total", "42.50")


def test_whole_audit_with_timer_and_photo(live_server, phone, chain, tmp_path):
    visit = make_assignment(chain)
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    phone.context.grant_permissions(["geolocation"], origin=live_server)
    phone.context.set_geolocation({"latitude": 31.2301, "longitude": 121.4701})
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/")
    assert "上海南京西路店" in phone.content()
    shot(phone, tmp_path, "shopper-assignments.png")
    phone.click(".assignment-link")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    fill_facts(phone)
    shot(phone, tmp_path, "shopper-form-facts.png")
    phone.click("#next-btn")
    # speed: the timer records seconds; the shopper then corrects them by hand
    phone.click(f"#item-{timed.id} [data-start]")
    phone.click(f"#item-{timed.id} [data-stop]")
    recorded = phone.input_value(f"#v_{timed.id}")
    assert recorded.isdigit()
    phone.fill(f"#v_{timed.id}", "240")
    answer_step(phone, visit, VALUES)
    shot(phone, tmp_path, "shopper-form-speed.png")
    for _ in range(4):
        phone.click("#next-btn")
        answer_step(phone, visit, VALUES)
    phone.click("#next-btn")
    phone.select_option("#photo-category", "receipt")
    phone.set_input_files("#photos", files=[{"name": "receipt.jpg", "mimeType": "image/jpeg",
                                             "buffer": jpeg_bytes()}])
    phone.wait_for_selector("#thumbs img")
    phone.fill("#overall_comment", "Quick and friendly.")
    shot(phone, tmp_path, "shopper-form-final.png")
    phone.click("#submit-btn")
    phone.wait_for_url("**sent=1")
    assert phone.locator("#confirmation").is_visible()
    assert "Score" not in phone.inner_text("main")
    shot(phone, tmp_path, "shopper-confirmation.png")

    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted" and stored.submitted_at is not None
    assert stored.checkin_distance_m is not None and not stored.location_flagged
    assert stored.answer_for(timed.id).value == 240
    assert len(stored.photos) == 1 and stored.photos[0].category == "receipt"
    assert stored.receipt_total == 42.5
    assert stored.score == pytest.approx(expected_score(stored, {**VALUES, timed.code: 240}))


def test_offline_submission_is_queued_and_arrives_once(live_server, phone, chain, tmp_path):
    visit = make_assignment(chain, store=chain.stores[1], visit_type="walk_in")
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.uncheck("#share-location")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    fill_facts(phone)
    phone.context.set_offline(True)
    phone.click("#next-btn")
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    phone.fill(f"#v_{timed.id}", "100")
    answer_step(phone, visit, VALUES)
    for _ in range(4):
        phone.click("#next-btn")
        answer_step(phone, visit, VALUES)
    phone.click("#next-btn")
    phone.click("#submit-btn")
    phone.wait_for_selector("#save-state.queued")
    assert "Queued" in phone.inner_text("#save-state")
    shot(phone, tmp_path, "shopper-queued.png")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "in_progress"

    phone.context.set_offline(False)
    phone.wait_for_url("**sent=1")
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted"
    assert len(stored.answers) == len(asked(stored, VALUES))  # the items the visit asks
    submits = db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.entity == "visit", AuditLog.entity_id == str(visit.id),
        AuditLog.action == "submit"))
    assert submits == 1
    assert stored.score == pytest.approx(expected_score(stored, {**VALUES, timed.code: 100}))


QA_VALUES = {"qa_staffing": 1, "qa_greeting": 1, "qa_uniform": 0, "qa_order_check": 1,
             "qa_pos": 1, "qa_holding_times": 1, "qa_fridge_temp": 3.5, "qa_taste": 60,
             "qa_kitchen": 1, "qa_pest": 1, "qa_dining": "na"}


def test_qa_auditor_uses_the_same_form(live_server, phone, chain, tmp_path):
    browser_login(phone, live_server, "qa@example.com")
    phone.goto(f"{live_server}/hq/qa")
    phone.select_option("#store_id", str(chain.stores[2].id))
    phone.select_option("#visit_type", "dine_in")
    phone.click("#qa-start [type=submit]")
    phone.wait_for_selector("#audit-form")
    visit = db.session.scalars(select(Visit).where(Visit.kind == "qa")).one()
    phone.fill("#arrival_time", ARRIVAL)
    phone.click("#next-btn")
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    phone.fill(f"#v_{timed.id}", "310")
    answer_step(phone, visit, QA_VALUES)
    phone.screenshot(path=str(tmp_path / "qa-form.png"))
    if SHOTS:
        phone.screenshot(path=os.path.join(SHOTS, "qa-form-phone.png"))
    for _ in range(5):
        phone.click("#next-btn")
        answer_step(phone, visit, QA_VALUES)
    phone.click("#submit-btn")
    phone.wait_for_url("**sent=1")
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted" and stored.evaluator_id == chain.qa.id
    assert stored.score == pytest.approx(expected_score(stored, {**QA_VALUES, timed.code: 310}))
    phone.goto(f"{live_server}/hq/qa")
    assert chain.stores[2].name in phone.inner_text("main")
    shot(phone, tmp_path, "qa-index-phone.png")


def test_form_in_chinese_viewport(live_server, phone, chain, tmp_path):
    visit = make_assignment(chain)
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.click("text=中文")
    phone.wait_for_selector("html[lang=zh-CN]")
    phone.click("#next-btn")
    phone.click("#next-btn")
    assert "十分满意" in phone.inner_text("main")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(tmp_path / "zh.png"))
    if SHOTS:
        phone.screenshot(path=os.path.join(SHOTS, "shopper-form-zh-viewport.png"))


def test_service_worker_opens_the_form_offline(live_server, phone, chain):
    visit = make_assignment(chain)
    browser_login(phone, live_server, "MS-101")
    url = f"{live_server}/shopper/visits/{visit.id}"
    phone.goto(url)
    assert phone.evaluate(
        "navigator.serviceWorker.ready.then(r => r.active.scriptURL)"
    ).endswith("/shopper/sw.js")
    phone.reload()  # now controlled: the page and its assets are cached
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.context.set_offline(True)
    phone.reload()
    assert phone.locator("#audit-form").is_visible()
    assert phone.evaluate("document.documentElement.classList.contains('js')")
    phone.fill("#order_description", "typed while offline")
    phone.wait_for_selector("#save-state.saved")
    assert "offline" in phone.inner_text("#save-state")


def test_an_autosave_the_server_refuses_says_why(live_server, phone, chain):
    """A draft with a comment over 4,000 characters is refused (the previous draft kept);
    the form says why instead of pretending it was saved."""
    visit = make_assignment(chain)
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.fill("#order_description", "Burger meal")
    state = phone.locator("#save-state")
    expect(state).to_have_class(re.compile(r"\bsaved\b"))
    phone.fill("#order_description", "x" * 4001)
    expect(state).to_contain_text("4001 characters long; at most 4000")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).draft["facts"]["order_description"] == "Burger meal"
