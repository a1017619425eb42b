"""Issue #16 item 4: where an extra visit changes a decision. The scheduler proposes a
second visit this month for stores whose 90 % interval straddles a band boundary, most
ambiguous first, up to HQ's budget (an effective-dated setting); HQ accepts some or all and
they become extra assignments; refused for a closed month."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from auditapp import analytics, proposals, scoring
from auditapp.extensions import db
from auditapp.models import AuditLog, Visit
from auditapp.models.visit import ASSIGNED

from .factories import make_visit

TODAY = date.today()
#: proposals are for a month that has not ended: this one
THIS = f"{TODAY:%Y-%m}"
PREVIOUS = f"{(TODAY.replace(day=1) - timedelta(days=1)):%Y-%m}"
NEXT = f"{(TODAY.replace(day=28) + timedelta(days=4)):%Y-%m}"



def test_ambiguity_of_the_scoring_example():
    """SCORING.md §10's store: BDI 79.575 ± 8.375 (71.20–87.95) straddles 80 only."""
    e = 12 / 2 ** 0.5 * 0.6
    found = proposals.ambiguity(79.575, e, scoring.DEFAULT_CONFIG)
    assert found.boundary == 80.0
    assert found.distance == pytest.approx(0.425)
    assert found.half_width == pytest.approx(8.375, abs=5e-4)
    assert found.ratio == pytest.approx(0.425 / 8.375, abs=1e-4)
    # inside one band (a confirmed band): nothing to propose
    assert proposals.ambiguity(95.0, 1.0, scoring.DEFAULT_CONFIG) is None
    assert proposals.ambiguity(None, 1.0, scoring.DEFAULT_CONFIG) is None
    # two boundaries inside: the nearer one counts
    assert proposals.ambiguity(78.0, 10.0, scoring.DEFAULT_CONFIG).boundary == 80.0


def _this_month(chain):
    """Three stores with one visit each this month (σ = 15: every interval is wide)."""
    e1, e2, n1 = chain.stores[0], chain.stores[1], chain.stores[2]
    make_visit(chain, e1, visit_date=TODAY, values={"courtesy_thanks": 0})
    make_visit(chain, e2, visit_date=TODAY, values={"clean_restroom": 0, "speed_total": 400})
    make_visit(chain, n1, visit_date=TODAY)


def test_hq_sees_proposals_with_reasons_and_accepts_them_as_extra_visits(client, auth, chain):
    _this_month(chain)
    auth.login("hq@example.com")
    saved = client.post("/hq/scheduling/proposals/budget",
                        data={"month": THIS, "budget": "2"}, follow_redirects=True)
    assert f"Budget of extra visits saved: 2, in force from {THIS}." in saved.get_data(True)
    assert proposals.budget(THIS) == 2 and proposals.budget(NEXT) == 2
    assert proposals.budget(PREVIOUS) == 5  # the default before the change took effect

    june = analytics.Period.month(THIS)
    expected = sorted(
        (s for s in analytics.store_scores(june) if len(s.bands) > 1),
        key=lambda s: (scoring.exact(proposals.ambiguity(s.bdi, s.error,
                                                         scoring.DEFAULT_CONFIG).ratio), s.code))
    assert len(expected) == 3  # all three straddle a boundary

    page = client.get(f"/hq/scheduling?month={THIS}").get_data(as_text=True)
    section = page[page.index('id="proposals"'):page.index('id="assignments"')
                   if 'id="assignments"' in page else len(page)]
    first, second, third = expected
    assert section.index(f"{first.code} · ") < section.index(f"{second.code} · ")
    assert f"{third.code} · " not in section  # beyond the budget of 2
    assert "1 more store is ambiguous but beyond the budget." in section
    assert "90 % interval" in section and "boundary" in section and "(ambiguity" in section

    # accept the most ambiguous one: an extra assignment with a shopper and a link
    r = client.post("/hq/scheduling/proposals/accept",
                    data={"month": THIS, "store_id": str(first.store_id)},
                    follow_redirects=True)
    assert f"1 extra visit scheduled for {THIS}." in r.get_data(as_text=True)
    extra = db.session.scalar(select(Visit).where(Visit.extra.is_(True)))
    regular = db.session.scalar(select(Visit).where(
        Visit.store_id == first.store_id, Visit.extra.is_(False)))
    assert extra.store_id == first.store_id and extra.month == THIS
    assert extra.status == ASSIGNED and extra.access_token and extra.evaluator_id
    assert extra.evaluator_id != regular.evaluator_id
    assert extra.visit_type != regular.visit_type
    html = r.get_data(as_text=True)
    assert f"/shopper/t/{extra.access_token}" in html
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "accept_extra_visits"))
    assert log.entity_id == THIS and log.after["created"] == [extra.id]
    assert first.code in log.after["stores"]

    # the budget is now 1 left: the second and third move up; a store not proposed is refused
    left = proposals.propose(THIS)
    assert [p.store.code for p in left.proposed] == [second.code]
    refused = client.post("/hq/scheduling/proposals/accept",
                          data={"month": THIS, "store_id": str(third.store_id)},
                          follow_redirects=True)
    assert f"Store {third.code} is not among the proposals for {THIS}" in refused.get_data(True)
    # accept all (the rest within the budget)
    client.post("/hq/scheduling/proposals/accept", data={"month": THIS, "all": "1"})
    extras = db.session.scalars(select(Visit).where(Visit.extra.is_(True))).all()
    assert sorted(v.store_id for v in extras) == sorted([first.store_id, second.store_id])
    # the regular monthly generation is untouched by extra visits
    assert client.get(f"/hq/scheduling?month={THIS}").status_code == 200


def test_extra_visits_are_refused_for_a_closed_month(client, auth, chain):
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 10))
    auth.login("hq@example.com")
    assert client.post("/hq/months/close", data={"month": "2026-05"}).status_code == 303
    page = client.get("/hq/scheduling?month=2026-05").get_data(as_text=True)
    assert "2026-05 is closed: its figures are final, so no extra visit is proposed." in page
    r = client.post("/hq/scheduling/proposals/accept",
                    data={"month": "2026-05", "all": "1"}, follow_redirects=True)
    assert ("2026-05 is closed: its figures are final, so no extra visit can be scheduled "
            "for it.") in r.get_data(as_text=True)
    budget = client.post("/hq/scheduling/proposals/budget",
                         data={"month": "2026-05", "budget": "9"}, follow_redirects=True)
    assert "that month is closed" in budget.get_data(as_text=True)
    assert db.session.scalar(select(Visit).where(Visit.extra.is_(True))) is None


def test_no_extra_visit_for_a_month_that_has_ended(client, auth, chain):
    """An open month that is over: a visit now would fall in a later month."""
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 10))
    assert proposals.propose("2026-05", today=date(2026, 5, 20)).proposed
    auth.login("hq@example.com")
    page = client.get("/hq/scheduling?month=2026-05").get_data(as_text=True)
    assert "2026-05 has ended: an extra visit now would fall in a later month" in page
    r = client.post("/hq/scheduling/proposals/accept",
                    data={"month": "2026-05", "all": "1"}, follow_redirects=True)
    assert "2026-05 has ended" in r.get_data(as_text=True)
    assert db.session.scalar(select(Visit).where(Visit.extra.is_(True))) is None
