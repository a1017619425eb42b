"""The JavaScript form's paradata in a real phone-sized Chromium: check-in accuracy, timer
starts and stops with the phone's time, time per step; a timed answer typed over what the
timer measured is flagged for HQ."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from auditapp.extensions import db
from auditapp.models import VisitEvent, VisitFlag

from .conftest import browser_login
from .shopper_helpers import make_assignment
from .test_shopper_browser import VALUES, answer_step

pytestmark = pytest.mark.browser


def test_timer_and_step_events_reach_hq(live_server, phone, chain):
    visit = make_assignment(chain)
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    phone.context.grant_permissions(["geolocation"], origin=live_server)
    phone.context.set_geolocation({"latitude": 31.2301, "longitude": 121.4701,
                                   "accuracy": 20})
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    phone.fill("#visit_date", date.today().isoformat())
    phone.fill("#arrival_time", "00:00")  # never later than now at the store
    phone.locator("input[name=visit_type_confirmed][value='1'] + span").click()
    phone.click("#next-btn")
    with phone.expect_response(lambda r: r.url.endswith("/events")):
        phone.click(f"#item-{timed.id} [data-start]")
    with phone.expect_response(lambda r: r.url.endswith("/events")):
        phone.click(f"#item-{timed.id} [data-stop]")
    measured = int(phone.input_value(f"#v_{timed.id}"))
    phone.fill(f"#v_{timed.id}", str(measured + 240))  # typed over the timer
    answer_step(phone, visit, VALUES)
    for _ in range(5):
        phone.click("#next-btn")
        answer_step(phone, visit, VALUES)
    phone.click("#submit-btn")
    phone.wait_for_url("**sent=1")

    db.session.expire_all()
    events = db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)
                                .order_by(VisitEvent.id)).all()
    kinds = [e.kind for e in events]
    assert kinds[0] == "opened" and kinds[-1] == "submit"
    checkin = next(e for e in events if e.kind == "checkin")
    assert checkin.data["accuracy_m"] == 20
    start = next(e for e in events if e.kind == "timer_start")
    stop = next(e for e in events if e.kind == "timer_stop")
    assert start.item_id == stop.item_id == timed.id
    assert start.client_at is not None and stop.client_at >= start.client_at
    assert stop.data["seconds"] == measured
    steps = [e.data["step"] for e in events if e.kind == "step"]
    assert steps[:2] == [0, 1] and len(steps) == 7  # six steps left, the last at submission
    assert kinds.index("step") < kinds.index("submit")
    flags = set(db.session.scalars(select(VisitFlag.code).where(
        VisitFlag.visit_id == visit.id)))
    assert "timer_mismatch" in flags
