"""Scenario shops in a real phone-sized Chromium (issue #24): the shopper sees the script
and answers the "Complaint handling" section (the JS form sends it with the submission, and
the server's per-step messages land on the steps); the manager sees the store's steps,
never the script."""

from __future__ import annotations

import os
from datetime import date

import pytest
from playwright.sync_api import expect

from auditapp import scenarios
from auditapp.extensions import db
from auditapp.models import Visit

from .conftest import browser_login, fits_viewport
from .shopper_helpers import make_assignment
from .test_scenarios import N, Y, make_scenario, scenario_visit
from .test_shopper_browser import VALUES, answer_step, fill_facts

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("AUDITAPP_SCREENSHOTS")
SCRIPT = "Tell the cashier your fries are cold"


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


def test_shopper_answers_the_complaint_handling_section(live_server, phone, chain, tmp_path):
    scenario = make_scenario()
    visit = make_assignment(chain, store=chain.stores[1], visit_type="walk_in")
    scenarios.give_scenario(visit, scenario, None)
    db.session.commit()
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/")
    phone.click(".scenario-brief summary")
    expect(phone.locator(".scenario-brief")).to_contain_text(SCRIPT)
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.uncheck("#share-location")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    fill_facts(phone)
    phone.click("#next-btn")
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    phone.fill(f"#v_{timed.id}", "100")
    answer_step(phone, visit, VALUES)
    for _ in range(4):
        phone.click("#next-btn")
        answer_step(phone, visit, VALUES)
    phone.click("#next-btn")
    expect(phone.locator("#step-scenario")).to_be_visible()
    expect(phone.locator("#scenario-script")).to_contain_text(SCRIPT)
    assert fits_viewport(phone)
    # steps 1–3 only: the server names the missing ones by their step
    for n, value in ((1, "1"), (2, "0"), (3, "1")):
        phone.locator(f"input[name=sc_{n}][value='{value}'] + span").click()
    shot(phone, tmp_path, "scenario-section.png")
    phone.click("#next-btn")
    phone.click("#submit-btn")
    expect(phone.locator("#err-scenario_step4")).to_be_visible()
    expect(phone.locator("#err-scenario_handling")).to_be_visible()
    assert phone.locator("#err-scenario_step1").count() == 0
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "in_progress"
    phone.locator("#error-summary a[href='#f-scenario_step4']").click()
    for n, value in ((4, "1"), (5, "0")):
        phone.locator(f"input[name=sc_{n}][value='{value}'] + span").click()
    phone.locator("input[name=sc_handling][value='-30'] + span").click()
    phone.fill("#sc_comment", "They replaced the fries but did not apologise.")
    shot(phone, tmp_path, "scenario-section-answered.png")
    phone.click("#next-btn")
    phone.click("#submit-btn")
    phone.wait_for_url("**sent=1")
    db.session.expire_all()
    row = scenarios.scenario_for(visit.id)
    assert db.session.get(Visit, visit.id).status == "submitted"
    assert row.steps() == [True, False, True, True, False] and row.rs == 60.0
    assert row.handling == -30


def test_manager_sees_steps_not_the_script(live_server, phone, chain, tmp_path):
    scenario_visit(chain, chain.stores[0], date(2026, 5, 10), [Y, Y, N, Y, N])
    browser_login(phone, live_server, "m.e001@example.com")
    phone.goto(f"{live_server}/manager/stores/{chain.stores[0].id}?month=2026-05")
    expect(phone.locator("#recovery")).to_be_visible()
    expect(phone.locator("#store-rs")).to_have_text("60.0")
    first = phone.locator("#rs-steps li").first
    expect(first).to_have_attribute("data-step", "3")  # missed once, listed before step 1
    assert SCRIPT not in phone.content() and "Cold fries" not in phone.content()
    assert fits_viewport(phone)
    phone.locator("#rs-steps li[data-step='5'] summary").click()
    phone.fill("#sa-5", "Role-play: ask whether the remedy is acceptable")
    phone.fill("#sd-5", "2026-06-30")
    shot(phone, tmp_path, "manager-recovery.png")
    phone.locator("#rs-steps li[data-step='5'] button[type=submit]").click()
    expect(phone.locator("#rs-steps li[data-step='5']")).to_contain_text("Role-play")
