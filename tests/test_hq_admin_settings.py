"""HQ settings through HTTP: scoring weights, deductions, bands, dispute/complaint windows."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from auditapp import analytics, settings
from auditapp.extensions import db
from auditapp.models import AuditLog
from auditapp.scoring import ScoringConfig

from .factories import make_complaint, make_visit

DEFAULT_FORM = {
    "w_ms": "0.6", "w_qa": "0.25", "w_hl": "0.15", "d_minor": "2", "d_major": "5",
    "d_critical": "10", "quick_hours": "48", "quick_factor": "0.5", "band_excellent": "90",
    "band_good": "80", "band_fair": "70", "dispute_window_days": "7",
    "complaint_overdue_hours": "48",
}



def test_defaults_are_shown(client, auth, chain):
    auth.login("hq@example.com")
    html = client.get("/hq/settings").get_data(as_text=True)
    for name, value in [("w_ms", "0.6"), ("w_qa", "0.25"), ("w_hl", "0.15"), ("d_major", "5.0"),
                        ("quick_hours", "48.0"), ("band_good", "80.0"),
                        ("dispute_window_days", "7"), ("complaint_overdue_hours", "48")]:
        assert f'name="{name}"' in html and f'value="{value}"' in html, name
    assert "Default: 0.6" in html and "Default: 10" in html


@pytest.mark.parametrize(("changes", "message"), [
    ({"w_ms": "-1"}, "Must be from 0 to"),
    ({"w_ms": "0", "w_qa": "0", "w_hl": "0"}, "At least one component weight must be above 0."),
    ({"quick_factor": "1.5"}, "The factor must be between 0 and 1."),
    ({"band_good": "95"}, "Must be below the Excellent threshold."),
    ({"band_fair": "85"}, "Must be below the Good threshold."),
    ({"band_excellent": "120"}, "A band threshold must be between 0 and 100."),
    ({"d_minor": "two"}, "Not a valid float value."),
    ({"dispute_window_days": "-3"}, "Between 0 and 365 days."),
    ({"complaint_overdue_hours": ""}, "Enter a number of hours."),
])
def test_invalid_values_are_explained_and_kept(client, auth, chain, changes, message):
    auth.login("hq@example.com")
    r = client.post("/hq/settings", data={**DEFAULT_FORM, **changes})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and message in html
    for name, value in changes.items():
        if value:
            assert f'value="{value}"' in html, name
    assert db.session.scalar(select(AuditLog)) is None
    assert settings.scoring_config() == ScoringConfig()


def test_saving_changes_store_bdi(client, auth, chain):
    store = chain.stores[0]
    make_visit(chain, store, visit_date=date(2026, 5, 10))  # MS 100
    make_visit(chain, store, kind="qa", visit_date=date(2026, 5, 12),
               values={"qa_kitchen": 0, "qa_staffing": 0})
    make_complaint(store, datetime(2026, 5, 3, 10), "critical")  # HL 90
    period = analytics.Period.month("2026-05")

    def bdi():
        return next(s for s in analytics.store_scores(period) if s.store_id == store.id)

    before = bdi()
    assert before.hl == pytest.approx(90)
    assert before.bdi == pytest.approx(0.6 * before.ms + 0.25 * before.qa + 0.15 * 90)

    changed = {**DEFAULT_FORM, "w_ms": "1", "w_qa": "1", "w_hl": "2", "d_critical": "20",
               "dispute_window_days": "14", "complaint_overdue_hours": "24"}
    auth.login("hq@example.com")
    r = client.post("/hq/settings", data=changed)
    assert r.status_code == 302
    after = bdi()
    assert after.hl == pytest.approx(80)
    assert after.bdi == pytest.approx((after.ms + after.qa + 2 * 80) / 4)
    assert after.bdi != pytest.approx(before.bdi)
    assert settings.get_setting("disputes")["window_days"] == 14
    assert settings.get_setting("complaints")["overdue_hours"] == 24
    rows = {r.entity_id: r for r in db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "setting"))}
    assert set(rows) == {"scoring", "disputes", "complaints"}
    assert rows["scoring"].after["component_weights"] == {"MS": 1.0, "QA": 1.0, "HL": 2.0}
    assert rows["scoring"].user_id == chain.hq.id
    html = client.get("/hq/settings").get_data(as_text=True)
    assert 'value="2.0"' in html and "Settings saved" in html

    # saving again without changes writes no new audit rows
    client.post("/hq/settings", data=changed)
    assert db.session.scalar(select(db.func.count(AuditLog.id))) == 3
