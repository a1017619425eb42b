"""Issue #16: the dispute window and the complaint-overdue hours are read for the visit's
or complaint's own month (the settings version in force then), not the newest version."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from auditapp import complaints, followup, settings
from auditapp.extensions import db
from auditapp.models import utcnow

from .factories import make_complaint
from .manager_helpers import answer, file_dispute, released_visit


def _versions(key: str, old: dict, new: dict) -> None:
    """``old`` in force from the beginning, ``new`` from 2026-06 (no month is closed)."""
    settings.save_setting(key, old, None, "1900-01")
    settings.save_setting(key, new, None, "2026-06")
    db.session.commit()


def test_dispute_window_is_the_one_in_force_for_the_visits_month(client, auth, chain):
    _versions("disputes", {"window_days": 7}, {"window_days": 1})
    may = released_visit(chain, chain.stores[1], days_ago=3, visit_date=date(2026, 5, 10))
    june = released_visit(chain, chain.stores[1], days_ago=3, visit_date=date(2026, 6, 10))

    assert followup.dispute_window_days("2026-05") == 7
    assert followup.dispute_window_open(may)  # May's window: 7 days
    assert not followup.dispute_window_open(june)  # June's: 1 day

    auth.login("m.e002@example.com")
    assert file_dispute(client, may, answer(may, "clean_restroom")).status_code == 302
    refused = file_dispute(client, june, answer(june, "clean_restroom"))
    assert "(1 days after the results were released)" in refused.get_data(as_text=True)


def test_complaint_overdue_hours_are_those_of_the_complaints_month(client, auth, chain):
    # May's complaints have 10,000 hours (over a year), June's 12 hours
    _versions("complaints", {"overdue_hours": 10_000}, {"overdue_hours": 12})
    store = chain.stores[0]
    now = utcnow()
    may = make_complaint(store, datetime(2026, 5, 20, 8))
    june = make_complaint(store, datetime(2026, 6, 20, 8))
    db.session.commit()
    assert now - may.received_at < timedelta(hours=10_000)

    assert not complaints.is_overdue(may, now)
    assert complaints.is_overdue(june, now)
    overdue = complaints.search(status="overdue", now=now)
    assert [c.id for c in overdue] == [june.id]

    auth.login("hq@example.com")
    page = client.get("/hq/complaints?status=overdue").get_data(as_text=True)
    assert f"/hq/complaints/{june.id}" in page and f"/hq/complaints/{may.id}" not in page
