"""Every writer of a visit takes turns with the others, and no writer moves a visit where
the visit state machine (``auditapp/visit_states.py``) does not allow (issue #13 items 1–3,
issue #15 item 6).

The race tests send real requests at the same moment from separate test clients in
separate threads (each its own database connection) and repeat the race several times,
on both databases: on the code before the fix they lost the acknowledged submission in
most rounds (PostgreSQL) or failed with UNIQUE answers.visit_id, item_id (SQLite).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import g
from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import Answer, AuditLog, Photo, Visit
from auditapp.models.visit import ASSIGNED, SUBMITTED

from .factories import PASSWORD
from .shopper_helpers import asked, full_payload, jpeg_bytes, make_assignment

ROUNDS = 8


def _asked(chain) -> int:
    """How many items a drive-thru mystery visit with the tests' answers asks (the dine-in
    items, the instruction and the "No → why" follow-up are not asked: conditions.py)."""
    from types import SimpleNamespace

    return len(asked(SimpleNamespace(questionnaire=chain.ms_q, visit_type="drive_thru",
                                     kind="mystery"), {}))


def _together(*calls: Callable[[], object]) -> list:
    """Run the calls at the same moment, each in its own thread; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert all(r is not None for r in results), "a request did not finish"
    return results


def _api(app, visit: Visit, what: str, json: dict) -> Callable[[], tuple[int, dict]]:
    """A request of the shopper's app, from its own client, with the visit's link token."""
    client, url = app.test_client(), f"/api/shopper/visits/{visit.id}/{what}"
    headers = {"Authorization": f"Bearer {visit.access_token}"}

    def call() -> tuple[int, dict]:
        r = client.post(url, headers=headers, json=json)
        return r.status_code, r.get_json()

    return call


def _hq_client(app):
    client = app.test_client()
    g.pop("_login_user", None)
    r = client.post("/auth/login", data={"username": "hq@example.com", "password": PASSWORD})
    assert r.status_code == 302
    g.pop("_login_user", None)
    return client


def _submit_audits(visit_id: int) -> int:
    return db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity == "visit", AuditLog.entity_id == str(visit_id),
        AuditLog.action == "submit"))


def _answers(visit_id: int) -> int:
    return db.session.scalar(select(func.count(Answer.id)).where(Answer.visit_id == visit_id))


def _fresh(visit_id: int) -> Visit:
    db.session.expire_all()
    return db.session.get(Visit, visit_id)


# --- item 2: a draft or a check-in racing a submit ----------------------------------------


@pytest.mark.parametrize("what", ["draft", "checkin"])
def test_draft_or_checkin_racing_a_submit_never_reverts_the_submission(app, chain, what):
    n_items = _asked(chain)
    for round_ in range(ROUNDS):
        visit = make_assignment(chain)
        payload = full_payload(visit, client_id=f"race-{what}-{round_}")
        other = {"answers": {}, "facts": {"overall_comment": "typed later"}} \
            if what == "draft" else {"consent": True, "latitude": 31.23, "longitude": 121.47}
        (submit_status, body), (other_status, other_body) = _together(
            _api(app, visit, "submit", payload), _api(app, visit, what, other))
        assert submit_status == 200, body
        # the draft or check-in went first (and was overtaken), or it was refused
        assert other_status in (200, 409), other_body
        if other_status == 409:
            assert "already" in other_body["message"]
        fresh = _fresh(visit.id)
        assert (fresh.status, fresh.draft) == (SUBMITTED, None), f"round {round_}"
        assert _answers(visit.id) == n_items
        assert _submit_audits(visit.id) == 1


# --- item 1: HQ reassigns while the shopper submits ----------------------------------------


def test_reassign_racing_a_submit_gives_one_consistent_visit(app, chain):
    hq = _hq_client(app)
    first, second = chain.shoppers[0], chain.shoppers[2]
    first_id, second_id, n_items = first.id, second.id, _asked(chain)
    outcomes = set()
    for round_ in range(ROUNDS):
        # a store neither shopper is tied to, and a fresh visit each round
        visit = make_assignment(chain, store=chain.stores[1], shopper=first)
        url = f"/hq/scheduling/visits/{visit.id}/reassign"

        def reassign(url=url) -> int:
            return hq.post(url, data={"shopper_id": second_id}).status_code

        (submit_status, body), reassign_status = _together(
            _api(app, visit, "submit", full_payload(visit, client_id=f"re-{round_}")),
            reassign)
        fresh = _fresh(visit.id)
        if submit_status == 200:  # the shopper was first: the visit is theirs, whole
            assert reassign_status == 409, round_
            assert (fresh.status, fresh.evaluator_id) == (SUBMITTED, first_id)
            assert _answers(visit.id) == n_items
            assert fresh.score is not None
        else:  # HQ was first: the old link no longer opens the visit
            assert submit_status == 404, body
            assert reassign_status == 302, round_
            assert (fresh.status, fresh.evaluator_id) == (ASSIGNED, second_id)
            assert _answers(visit.id) == 0 and fresh.score is None
        assert _submit_audits(visit.id) == (1 if submit_status == 200 else 0)
        outcomes.add(submit_status)
    assert outcomes  # (either order is fine; every round is consistent)


# --- issue #15 item 6: simultaneous submits, both databases --------------------------------


def test_two_simultaneous_first_submissions_store_one_and_answer_the_same(app, chain):
    for round_ in range(3):
        visit = make_assignment(chain)
        payload = full_payload(visit, client_id=f"double-{round_}")
        results = _together(_api(app, visit, "submit", payload),
                            _api(app, visit, "submit", payload))
        assert [status for status, _ in results] == [200, 200], results
        assert sorted(body["duplicate"] for _, body in results) == [False, True]
        assert len({body["submitted_at"] for _, body in results}) == 1
        assert _answers(visit.id) == _asked(chain)
        assert _submit_audits(visit.id) == 1


def test_no_js_double_click_on_a_returned_visit_submits_once(app, chain):
    visit = make_assignment(chain)
    token = visit.access_token
    r = app.test_client().post(f"/api/shopper/visits/{visit.id}/submit",
                               headers={"Authorization": f"Bearer {token}"},
                               json=full_payload(visit, client_id="first-send"))
    assert r.status_code == 200
    hq = _hq_client(app)
    r = hq.post(f"/hq/visits/{visit.id}/return", data={"reason": "Fix the receipt total"})
    assert r.status_code == 303
    form = {"action": "submit", "client_submission_id": "second-send",
            "visit_date": full_payload(visit)["facts"]["visit_date"], "arrival_time": "00:00",
            "visit_type_confirmed": "1", "receipt_total": "36.5"}
    for item in chain.ms_q.items:
        if item.item_type in ("yesno", "scale7", "timed"):
            form[f"v_{item.id}"] = {"yesno": "1", "scale7": "60", "timed": "95"}[item.item_type]
    clients = [app.test_client(), app.test_client()]

    def click(i: int) -> Callable[[], tuple[int, str]]:
        def call() -> tuple[int, str]:
            r = clients[i].post(f"/shopper/t/{token}", data=form)
            return r.status_code, r.headers.get("Location", "")
        return call

    results = _together(click(0), click(1))
    assert [status for status, _ in results] == [302, 302], results
    assert all(location.endswith("sent=1") for _, location in results), results
    assert _submit_audits(visit.id) == 2  # the first send and the resend, once
    fresh = _fresh(visit.id)
    assert (fresh.status, fresh.receipt_total) == (SUBMITTED, 36.5)


# --- the state machine: what each writer may do to a visit that was already sent -----------


def _submitted(app, chain) -> Visit:
    visit = make_assignment(chain)
    r = app.test_client().post(f"/api/shopper/visits/{visit.id}/submit",
                               headers={"Authorization": f"Bearer {visit.access_token}"},
                               json=full_payload(visit, client_id="sent"))
    assert r.status_code == 200
    return _fresh(visit.id)


def test_a_draft_or_checkin_for_a_sent_visit_is_refused_and_changes_nothing(app, chain):
    visit = _submitted(app, chain)
    before = (visit.status, visit.score, visit.started_at, visit.overall_comment)
    for what, body in (("draft", {"facts": {"overall_comment": "late autosave"}}),
                       ("checkin", {"consent": True, "latitude": 1.0, "longitude": 2.0})):
        status, answer = _api(app, visit, what, body)()
        assert status == 409, answer
        assert answer["message"] == "This visit was already submitted and can no longer be " \
                                    "changed."
    client = app.test_client()
    r = client.post(f"/api/shopper/visits/{visit.id}/photos",
                    headers={"Authorization": f"Bearer {visit.access_token}"},
                    data={"photo": (__import__("io").BytesIO(jpeg_bytes()), "a.jpg")})
    assert r.status_code == 409
    fresh = _fresh(visit.id)
    assert (fresh.status, fresh.score, fresh.started_at, fresh.overall_comment) == before
    assert fresh.draft is None and fresh.checkin_latitude is None and fresh.photos == []
    assert _answers(visit.id) == _asked(chain)


def test_reassigning_a_sent_visit_is_refused_with_a_reason(app, chain):
    visit = _submitted(app, chain)
    hq = _hq_client(app)
    r = hq.post(f"/hq/scheduling/visits/{visit.id}/reassign",
                data={"shopper_id": chain.shoppers[2].id})
    assert r.status_code == 409
    assert "can no longer be reassigned" in r.get_data(as_text=True)
    fresh = _fresh(visit.id)
    assert (fresh.status, fresh.evaluator_id) == (SUBMITTED, chain.shoppers[0].id)


# --- item 3: the next shopper gets a clean visit --------------------------------------------


def test_reassignment_detaches_the_first_shoppers_draft_photos_and_checkin(app, chain):
    first, second = chain.shoppers[0], chain.shoppers[2]
    visit = make_assignment(chain, store=chain.stores[0], shopper=first)
    old_token = visit.access_token
    api = app.test_client()
    auth = {"Authorization": f"Bearer {old_token}"}
    base = f"/api/shopper/visits/{visit.id}"
    assert api.post(f"{base}/checkin", headers=auth,
                    json={"consent": True, "latitude": 31.3, "longitude": 121.5}
                    ).status_code == 200
    assert api.post(f"{base}/draft", headers=auth,
                    json={"facts": {"overall_comment": "first shopper's notes"}}
                    ).status_code == 200
    r = api.post(f"{base}/photos", headers=auth,
                 data={"photo": (__import__("io").BytesIO(jpeg_bytes()), "a.jpg")})
    assert r.status_code == 201
    photo_id = r.get_json()["id"]
    photo_key = db.session.get(Photo, photo_id).storage_key

    hq = _hq_client(app)
    r = hq.post(f"/hq/scheduling/visits/{visit.id}/reassign", data={"shopper_id": second.id})
    assert r.status_code == 302

    fresh = _fresh(visit.id)
    assert fresh.evaluator_id == second.id and fresh.status == ASSIGNED
    # the new shopper's view of the visit: nothing of the first shopper's
    new_auth = {"Authorization": f"Bearer {fresh.access_token}"}
    data = api.get(base, headers=new_auth).get_json()
    assert data["photos"] == [] and data["started_at"] is None
    assert "first shopper" not in str(data["state"])
    assert api.get(f"/shopper/t/{fresh.access_token}/photos/{photo_id}").status_code == 404
    assert api.get(f"/shopper/t/{old_token}/photos/{photo_id}").status_code == 404
    # ... nor HQ's: no check-in position or distance for this visit
    assert (fresh.started_at, fresh.checkin_latitude, fresh.checkin_longitude,
            fresh.checkin_distance_m, fresh.location_flagged) == (None, None, None, None, False)
    html = hq.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    assert "31.30000" not in html
    # nothing silently destroyed: the audit trail says what was detached
    entry = db.session.scalar(select(AuditLog).where(
        AuditLog.entity == "visit", AuditLog.entity_id == str(visit.id),
        AuditLog.action == "reassign"))
    detached = entry.before["detached"]
    assert detached["draft"]["facts"]["overall_comment"] == "first shopper's notes"
    assert detached["checkin"]["latitude"] == 31.3
    assert [p["storage_key"] for p in detached["photos"]] == [photo_key]
    assert entry.before["evaluator_id"] == first.id
    assert entry.after["evaluator_id"] == second.id


def test_the_editable_statuses_are_the_state_machines():
    from auditapp import visit_states
    from auditapp.models.visit import EDITABLE_STATUSES

    for action in (visit_states.CHECK_IN, visit_states.SAVE_DRAFT, visit_states.ADD_PHOTO,
                   visit_states.SUBMIT):
        assert set(visit_states.TRANSITIONS[action]) == set(EDITABLE_STATUSES), action
