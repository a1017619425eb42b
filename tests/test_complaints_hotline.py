"""Complaint hotline log: record, handle, resolve — and the BDI's HL component moves."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import select

from auditapp.extensions import db
from auditapp.models import AuditLog, Complaint, utcnow

from .factories import make_complaint, make_visit


def _store_bdi(runner, code="E001", month="2026-05"):
    out = runner.invoke(args=["bdi", "--month", month, "--format", "json"]).output
    return {s["code"]: s for s in json.loads(out)["stores"]}[code]


def _record(client, store, **overrides):
    data = {"store_id": store.id, "received_at": "2026-05-10T09:30", "channel": "phone",
            "severity": "major", "category": "courtesy",
            "description": "Rude crew at the counter 店员态度差"} | overrides
    return client.post("/hq/complaints/new", data=data)


def test_log_and_resolve_complaints_moves_the_bdi(client, auth, chain, runner):
    store = chain.stores[0]
    make_visit(chain, store, visit_date=date(2026, 5, 3))  # MS = 100
    before = _store_bdi(runner)
    assert before["hl"] == 100 and before["bdi"] == 100

    auth.login("hq@example.com")
    response = _record(client, store)
    assert response.status_code == 303
    complaint = db.session.scalar(select(Complaint))
    # entered in the store's local time (Asia/Shanghai, UTC+8), stored as naive UTC
    assert complaint.received_at == datetime(2026, 5, 10, 1, 30)
    assert complaint.description == "Rude crew at the counter 店员态度差"
    unresolved = _store_bdi(runner)
    assert unresolved["hl"] == 95 and unresolved["complaints"] == 1
    assert unresolved["bdi"] < before["bdi"]

    # resolved within 48 hours: the deduction is halved (5 → 2.5)
    response = client.post(f"/hq/complaints/{complaint.id}/resolve",
                           data={"resolved_at": "2026-05-11T09:30"})
    assert response.status_code == 303
    db.session.refresh(complaint)
    assert complaint.resolution_hours == 24
    quick = _store_bdi(runner)
    assert quick["hl"] == 97.5
    assert unresolved["bdi"] < quick["bdi"] < before["bdi"]
    page = client.get(f"/hq/complaints/{complaint.id}").get_data(as_text=True)
    assert "24.0 h" in page

    # a second complaint resolved after 72 hours keeps its full deduction
    _record(client, store, severity="minor", received_at="2026-05-20T10:00")
    late = db.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
    client.post(f"/hq/complaints/{late.id}/resolve", data={"resolved_at": "2026-05-23T10:00"})
    assert _store_bdi(runner)["hl"] == 95.5
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "complaint").order_by(AuditLog.id)
    ).all()
    assert actions == ["create", "resolve", "create", "resolve"]


def test_bad_input_is_explained_and_kept(client, auth, chain):
    auth.login("hq@example.com")
    response = _record(client, chain.stores[2], received_at="not a date", description="")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter the date and time" in html and "Describe the complaint." in html
    assert f'<option selected value="{chain.stores[2].id}">' in html
    future = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = _record(client, chain.stores[2], received_at=future)
    assert response.status_code == 400
    assert "cannot be in the future" in response.get_data(as_text=True)
    assert "店员态度差" in response.get_data(as_text=True)
    assert db.session.scalar(select(Complaint)) is None


def test_handling_steps_record_when_done(client, auth, chain):
    complaint = make_complaint(chain.stores[0], datetime(2026, 5, 10, 2, 0), "minor")
    auth.login("hq@example.com")
    client.post(f"/hq/complaints/{complaint.id}/handling",
                data={"steps": ["thank", "listen"], "handling_notes": "Called back"})
    db.session.refresh(complaint)
    assert set(complaint.steps_done) == {"thank", "listen"}
    first_thank = complaint.steps_done["thank"]
    client.post(f"/hq/complaints/{complaint.id}/handling",
                data={"steps": ["thank", "listen", "apologise", "bogus"],
                      "handling_notes": "Voucher offered"})
    db.session.refresh(complaint)
    assert list(complaint.steps_done) == ["thank", "listen", "apologise"]
    assert complaint.steps_done["thank"] == first_thank
    assert complaint.handling_notes == "Voucher offered"
    page = client.get(f"/hq/complaints/{complaint.id}").get_data(as_text=True)
    assert page.count("checked") == 3 and "Prevent recurrence" in page


def test_list_filters_and_flags_overdue(client, auth, chain):
    now = utcnow()
    overdue = make_complaint(chain.stores[0], now - timedelta(hours=60), "critical")
    fresh = make_complaint(chain.stores[1], now - timedelta(hours=2), "minor")
    done = make_complaint(chain.stores[2], now - timedelta(hours=90), "major",
                          resolved_after_hours=10)
    auth.login("hq@example.com")

    def ids(query: str) -> set[int]:
        html = client.get(f"/hq/complaints{query}").get_data(as_text=True)
        return {c.id for c in (overdue, fresh, done) if f"/hq/complaints/{c.id}\"" in html}

    assert ids("") == {overdue.id, fresh.id, done.id}
    assert ids("?status=overdue") == {overdue.id}
    assert ids("?status=open") == {overdue.id, fresh.id}
    assert ids("?status=resolved") == {done.id}
    assert ids(f"?store={chain.stores[1].id}") == {fresh.id}
    assert ids(f"?month={now:%Y-%m}") >= {fresh.id}
    assert ids("?month=2001-01") == set()
    html = client.get("/hq/complaints").get_data(as_text=True)
    assert 'class="overdue"' in html and "Overdue" in html
    assert "北京王府井店" in html
    assert "Write the month as" in client.get("/hq/complaints?month=13-2026").get_data(
        as_text=True)


def test_overdue_hours_follow_the_setting(client, auth, chain):
    from auditapp.settings import save_setting

    make_complaint(chain.stores[0], utcnow() - timedelta(hours=30), "minor")
    auth.login("hq@example.com")
    assert "Overdue</span>" not in client.get("/hq/complaints").get_data(as_text=True)
    save_setting("complaints", {"overdue_hours": 24})
    db.session.commit()
    assert "Overdue</span>" in client.get("/hq/complaints").get_data(as_text=True)


def test_only_hq_handles_complaints(client, auth, chain):
    complaint = make_complaint(chain.stores[0], datetime(2026, 5, 10, 2, 0))
    auth.login("m.e001@example.com")
    assert client.get("/hq/complaints").status_code == 403
    assert client.post(f"/hq/complaints/{complaint.id}/resolve").status_code == 403
    assert _record(client, chain.stores[0]).status_code == 403
