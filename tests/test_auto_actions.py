"""Automatic corrective actions (issue #17 item 6): opened at release for every failed
critical item (SCORING.md §8) and, with HQ's threshold, every dimension below it; completed
by the manager with root cause, what was done and a photo; verified by HQ; confirmed or
reopened by the store's next released visit that answers the same item; idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from auditapp import corrective
from auditapp.extensions import db
from auditapp.models import CorrectiveAction, Visit, utcnow
from auditapp.models.followup import ACTION_CONFIRMED, ACTION_DONE, ACTION_OPEN, ACTION_VERIFIED
from auditapp.models.visit import SUBMITTED

from .factories import make_visit
from .manager_helpers import png_bytes

FAIL_RESTROOM = {"clean_restroom": 0}


def _release(client, auth, visit) -> None:
    auth.login("hq@example.com")
    r = client.post(f"/hq/visits/{visit.id}/release")
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    auth.logout()


def _actions(store=None):
    query = select(CorrectiveAction).order_by(CorrectiveAction.id)
    if store is not None:
        query = query.join(Visit, Visit.id == CorrectiveAction.visit_id).where(
            Visit.store_id == store.id)
    return list(db.session.scalars(query))


def test_release_opens_one_action_per_failed_critical_item_idempotently(client, auth, chain):
    store = chain.stores[0]
    visit = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 5, 10),
                       values={**FAIL_RESTROOM, "courtesy_thanks": 0})  # thanks: not critical
    _release(client, auth, visit)
    rows = _actions()
    assert len(rows) == 1
    row = rows[0]
    assert row.source == "auto" and row.status == ACTION_OPEN
    assert row.answer.item.code == "clean_restroom"
    assert row.due_date == utcnow().date() + timedelta(days=14)
    # seen again (e.g. settled after a dispute): nothing twice
    corrective.on_release(db.session.get(Visit, visit.id))
    db.session.commit()
    assert len(_actions()) == 1


def test_the_lifecycle_done_verified_then_confirmed_by_the_next_visit(client, auth, chain):
    store = chain.stores[0]
    first = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 5, 10),
                       values=FAIL_RESTROOM)
    _release(client, auth, first)
    row = _actions()[0]
    auth.login("m.e001@example.com")
    page = client.get("/manager/actions").get_data(as_text=True)
    assert "Record what was done" in page and "Opened automatically" in page
    # "Mark done" alone is refused for an automatic action
    client.post(f"/manager/actions/{row.id}/done", data={"next": "actions"})
    db.session.refresh(row)
    assert row.status == ACTION_OPEN
    # without a photo: refused, with the message by its field
    r = client.post(f"/manager/actions/{row.id}/complete",
                    data={"root_cause": "Cleaner was off sick", "done_note": "Rota fixed"})
    assert r.status_code == 400 and "photo" in r.get_data(as_text=True)
    r = client.post(f"/manager/actions/{row.id}/complete",
                    data={"root_cause": "Cleaner was off sick", "done_note": "Rota fixed",
                          "evidence": (__import__("io").BytesIO(png_bytes()), "ok.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    db.session.refresh(row)
    assert row.status == ACTION_DONE and row.root_cause == "Cleaner was off sick"
    assert row.evidence_key
    with client.get(f"/manager/actions/{row.id}/evidence") as r:
        assert r.status_code == 200 and r.mimetype == "image/png"
    auth.logout()
    auth.login("hq@example.com")
    with client.get(f"/hq/actions/{row.id}/evidence") as r:
        assert r.status_code == 200
    assert "Cleaner was off sick" in client.get("/hq/actions").get_data(as_text=True)
    client.post(f"/hq/actions/{row.id}/verify", data={})
    db.session.refresh(row)
    assert row.status == ACTION_VERIFIED
    auth.logout()
    # the next visit answers the item and passes it: confirmed
    second = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 6, 8))
    _release(client, auth, second)
    db.session.refresh(row)
    assert row.status == ACTION_CONFIRMED and row.followup_visit_id == second.id
    assert len(_actions()) == 1


def test_failed_again_reopens_instead_of_opening_a_second_action(client, auth, chain):
    store = chain.stores[0]
    first = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 5, 10),
                       values=FAIL_RESTROOM)
    _release(client, auth, first)
    row = _actions()[0]
    row.status = ACTION_DONE
    db.session.commit()
    other_store = make_visit(chain, chain.stores[1], status=SUBMITTED,
                             visit_date=date(2026, 6, 1))  # another store: no effect
    _release(client, auth, other_store)
    second = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 6, 8),
                        values=FAIL_RESTROOM)
    _release(client, auth, second)
    db.session.refresh(row)
    assert row.status == ACTION_OPEN and row.reopened == 1 and row.followup_visit_id == second.id
    assert row.due_date == utcnow().date() + timedelta(days=14)  # a fresh due date
    assert len(_actions(store)) == 1
    # an older visit released late never closes a newer action
    late = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 5, 2))
    _release(client, auth, late)
    db.session.refresh(row)
    assert row.status == ACTION_OPEN


def test_an_na_answer_leaves_the_action_as_it_is(client, auth, chain):
    store = chain.stores[0]
    _release(client, auth, make_visit(chain, store, status=SUBMITTED,
                                      visit_date=date(2026, 5, 10), values=FAIL_RESTROOM))
    _release(client, auth, make_visit(chain, store, status=SUBMITTED,
                                      visit_date=date(2026, 6, 10),
                                      values={"clean_restroom": "na"}))
    row = _actions()[0]
    assert row.status == ACTION_OPEN and row.followup_visit_id is None


def test_dimension_threshold_opens_and_follows_up_dimension_actions(client, auth, chain):
    corrective.save_config(True, 7, "80", None, None)
    db.session.commit()
    store = chain.stores[0]
    # courtesy: two yes/no "no" (and +90) → 33.3, below 80
    low = {"courtesy_smile": 0, "courtesy_thanks": 0}
    _release(client, auth, make_visit(chain, store, status=SUBMITTED,
                                      visit_date=date(2026, 5, 10), values=low))
    rows = _actions()
    assert [r.dimension for r in rows] == ["courtesy"]
    assert rows[0].due_date == utcnow().date() + timedelta(days=7)
    _release(client, auth, make_visit(chain, store, status=SUBMITTED,
                                      visit_date=date(2026, 6, 10)))
    db.session.refresh(rows[0])
    assert rows[0].status == ACTION_CONFIRMED


def test_automatic_actions_can_be_switched_off(client, auth, chain):
    corrective.save_config(False, 14, "", None, None)
    db.session.commit()
    _release(client, auth, make_visit(chain, chain.stores[0], status=SUBMITTED,
                                      visit_date=date(2026, 5, 10), values=FAIL_RESTROOM))
    assert _actions() == []


def test_hq_settings_page_saves_the_action_settings(client, auth, chain):
    auth.login("hq@example.com")
    r = client.post("/hq/scenarios/settings", data={"what": "actions", "auto": "1",
                                                    "due_days": "10",
                                                    "dimension_threshold": "75"})
    assert r.status_code == 302
    cfg = corrective.config()
    assert cfg["due_days"] == 10 and cfg["dimension_threshold"] == 75.0
    r = client.post("/hq/scenarios/settings", data={"what": "actions", "due_days": "0"},
                    follow_redirects=True)
    assert "from 1 to 365" in r.get_data(as_text=True)
