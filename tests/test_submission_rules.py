"""Issue #15: hard rules at submission, reviewer actions (reject, correct, void), the one
definition of a failed item (SCORING.md §8) and the store's view of when it was visited."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import refresh
from sqlalchemy import select

from auditapp import settings
from auditapp.extensions import db
from auditapp.models import Answer, AuditLog, Visit, utcnow
from auditapp.models.visit import IN_PROGRESS, REJECTED, RELEASED, SUBMITTED
from auditapp.visits import score_and_store

from .factories import make_visit
from .manager_helpers import add_action
from .shopper_helpers import full_payload, make_assignment

# --- 1. hard rules --------------------------------------------------------------------------


def _submit(client, visit, payload, lang="en"):
    return client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload,
                       headers={"Authorization": f"Bearer {visit.access_token}",
                                "Accept-Language": lang})


def _draft(client, visit, payload):
    return client.put(f"/api/shopper/visits/{visit.id}/draft", json=payload,
                      headers={"Authorization": f"Bearer {visit.access_token}"})


def _refused_and_draft_kept(client, visit, payload, field, *, says):
    assert _draft(client, visit, payload).status_code == 200
    r = _submit(client, visit, payload)
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["errors"]
    assert field in fields and says in fields[field], fields
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == IN_PROGRESS and stored.submitted_at is None
    assert stored.answers == [] and stored.visit_date is None
    assert stored.draft["facts"][field] == payload["facts"][field]  # the draft is kept
    return fields


def test_a_visit_date_outside_the_assignment_month_is_refused(client, chain):
    """The reported case: a November assignment sent with 2019-01-01."""
    visit = make_assignment(chain)
    payload = full_payload(visit)
    payload["facts"]["visit_date"] = "2019-01-01"
    _refused_and_draft_kept(client, visit, payload, "visit_date",
                            says="within the assignment's period")
    # and in Chinese (the tests' requests share one app context: forget its locale)
    refresh()
    r = _submit(client, visit, payload, lang="zh-CN")
    assert "任务" in r.get_json()["errors"]["visit_date"]
    # the same visit with a date of its month goes through
    payload["facts"]["visit_date"] = full_payload(visit)["facts"]["visit_date"]
    assert _submit(client, visit, payload).status_code == 200


def test_a_visit_date_in_the_future_at_the_store_is_refused(client, chain):
    visit = make_assignment(chain)
    tomorrow = datetime.now(ZoneInfo(chain.stores[0].timezone)).date() + timedelta(days=1)
    visit.month = f"{tomorrow:%Y-%m}"  # tomorrow's date lies in the assignment's month
    db.session.commit()
    payload = full_payload(visit)
    payload["facts"]["visit_date"] = tomorrow.isoformat()
    _refused_and_draft_kept(client, visit, payload, "visit_date", says="in the future")


def test_an_arrival_after_the_submission_on_the_same_day_is_refused(client, chain):
    # a store whose clock is not at 23:59 now, so that 23:59 is later than now there
    store = chain.stores[0]
    store.timezone = next(tz for tz in ("Asia/Shanghai", "Europe/London", "America/New_York")
                          if datetime.now(ZoneInfo(tz)).time() < time(23, 0))
    db.session.commit()
    visit = make_assignment(chain, store=store)
    today = datetime.now(ZoneInfo(store.timezone)).date()
    visit.month = f"{today:%Y-%m}"
    db.session.commit()
    payload = full_payload(visit)
    payload["facts"]["visit_date"] = today.isoformat()
    payload["facts"]["arrival_time"] = "23:59"
    _refused_and_draft_kept(client, visit, payload, "arrival_time", says="later than now")


def test_numbers_out_of_range_are_refused(client, chain):
    visit = make_assignment(chain)
    payload = full_payload(visit)
    payload["facts"]["receipt_total"] = -5
    _refused_and_draft_kept(client, visit, payload, "receipt_total", says="receipt total")
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    payload = full_payload(visit)
    payload["answers"][str(timed.id)]["value"] = 3601
    r = _submit(client, visit, payload)
    assert r.status_code == 422 and f"item-{timed.id}" in r.get_json()["errors"]


def test_the_plain_html_form_shows_the_rule_by_its_field_and_keeps_what_was_typed(
        client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    p = full_payload(visit)
    data = {"action": "submit", "client_submission_id": "html-rule",
            "visit_date": "2019-01-01", "arrival_time": "00:00",
            "visit_type_confirmed": "1", "receipt_total": "20",
            "order_description": "Two cheeseburgers"}
    for key, a in p["answers"].items():
        data[f"v_{key}"] = str(a["value"])
    r = client.post(f"/shopper/visits/{visit.id}", data=data)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert 'id="f-visit_date"' in page and "within the assignment&#39;s period" in page
    assert 'value="2019-01-01"' in page and "Two cheeseburgers" in page
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status != SUBMITTED


# --- 4. reviewer actions --------------------------------------------------------------------


def _submitted(chain, **kw) -> Visit:
    visit = make_visit(chain, chain.stores[0], status=SUBMITTED, visit_date=date(2026, 5, 10),
                       **kw)
    visit.overall_comment = "Served by Li Wei, I am Alice from Pudong"
    db.session.commit()
    return visit


def test_hq_rejects_a_visit_it_never_counts_and_the_shopper_is_told_why(client, auth, chain):
    visit = _submitted(chain)
    auth.login("hq@example.com")
    r = client.post(f"/hq/visits/{visit.id}/reject", data={"reason": ""})
    assert r.status_code == 400 and "Say why the visit is rejected" in r.get_data(as_text=True)
    r = client.post(f"/hq/visits/{visit.id}/reject",
                    data={"reason": "The receipt is from another store."})
    assert r.status_code == 303
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == REJECTED and not stored.counted
    assert db.session.scalar(select(Visit.id).where(Visit.counted)) is None
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "reject")).one()
    assert log.after["status"] == REJECTED
    # a second decision is refused
    r = client.post(f"/hq/visits/{visit.id}/release")
    assert r.status_code == 303
    assert db.session.get(Visit, visit.id).status == REJECTED
    page = client.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    assert "Rejected because" in page and "The receipt is from another store." in page
    # not counted in the month's figures, invisible to the store
    auth.logout()
    auth.login("m.e001@example.com")
    assert client.get(f"/manager/visits/{visit.id}").status_code == 404
    auth.logout()
    auth.login("MS-101")
    page = client.get("/shopper/").get_data(as_text=True)
    assert "Rejected" in page and "The receipt is from another store." in page
    chain.shoppers[0].locale = "zh_CN"
    db.session.commit()
    refresh()
    page = client.get("/shopper/").get_data(as_text=True)
    assert "总部" in page


def test_hq_corrects_and_redacts_a_text_before_release_logged(client, auth, chain):
    visit = _submitted(chain)
    restroom = next(a for a in visit.answers if a.item.code == "clean_restroom")
    restroom.comment = "No soap in teh restroom, ask Alice"
    db.session.commit()
    auth.login("hq@example.com")
    r = client.post(f"/hq/visits/{visit.id}/correct",
                    data={"field": "overall_comment", "text": "Served by [redacted]"})
    assert r.status_code == 303
    r = client.post(f"/hq/visits/{visit.id}/correct",
                    data={"field": f"comment-{restroom.id}", "text": "No soap in the restroom"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).overall_comment == "Served by [redacted]"
    assert db.session.get(Answer, restroom.id).comment == "No soap in the restroom"
    logs = db.session.scalars(select(AuditLog).where(AuditLog.action == "correct")
                              .order_by(AuditLog.id)).all()
    assert logs[0].before == {"overall_comment": "Served by Li Wei, I am Alice from Pudong"}
    assert logs[0].after == {"overall_comment": "Served by [redacted]"}
    assert logs[1].before == {"comment": "No soap in teh restroom, ask Alice"}
    # after release the texts are frozen
    client.post(f"/hq/visits/{visit.id}/release")
    assert db.session.get(Visit, visit.id).status == RELEASED
    r = client.post(f"/hq/visits/{visit.id}/correct",
                    data={"field": "overall_comment", "text": "changed"}, follow_redirects=True)
    assert "Only a visit awaiting review can be corrected" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).overall_comment == "Served by [redacted]"
    # the store reads the corrected texts only
    auth.logout()
    auth.login("m.e001@example.com")
    page = client.get(f"/manager/visits/{visit.id}").get_data(as_text=True)
    assert "Li Wei" not in page and "Alice" not in page and "[redacted]" in page


def test_hq_voids_an_item_before_release_and_the_visit_is_rescored(client, auth, chain):
    visit = _submitted(chain, values={"courtesy_thanks": 0})
    thanks = next(a for a in visit.answers if a.item.code == "courtesy_thanks")
    score_before = visit.score
    auth.login("hq@example.com")
    r = client.post(f"/hq/visits/{visit.id}/void", data={"answer_id": str(thanks.id)})
    assert r.status_code == 303
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    voided = db.session.get(Answer, thanks.id)
    assert voided.voided and voided.score is None
    assert stored.score > score_before
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "void")).one()
    assert log.before["voided"] is False and log.after["voided"] is True


# --- 5. failed items (SCORING.md §8) --------------------------------------------------------


def test_only_failed_items_count_as_failed_everywhere(client, auth, chain):
    """+60 "Satisfied", +30 and 0 (neutral), and a time between target and limit are not
    failed; "no", −30 and a time at the limit are."""
    visit = make_visit(chain, chain.stores[0], visit_type="walk_in", visit_date=date(2026, 5, 10),
                       values={"courtesy_satisfaction": 60, "speed_satisfaction": 0,
                               "clean_atmosphere": -30, "courtesy_thanks": 0,
                               "speed_total": 200})
    not_failed = {"courtesy_satisfaction", "speed_satisfaction", "speed_total"}
    failed = {"clean_atmosphere", "courtesy_thanks"}
    codes = {a.id: a.item.code for a in visit.answers}
    # the Python and the SQL definition agree
    assert {codes[a.id] for a in visit.answers if a.failed} == failed
    assert not any(a.failed for a in visit.answers if codes[a.id] in not_failed)
    sql = db.session.scalars(select(Answer.id).where(Answer.visit_id == visit.id,
                                                     Answer.failed)).all()
    assert {codes[i] for i in sql} == failed
    auth.login("m.e001@example.com")
    page = client.get(f"/manager/visits/{visit.id}").get_data(as_text=True)
    assert "<dt>Failed items</dt><dd>2</dd>" in page
    satisfied = next(a for a in visit.answers if a.item.code == "courtesy_satisfaction")
    assert f'name="a{satisfied.id}-action"' not in page  # no corrective action offered
    r = add_action(client, visit, satisfied)
    assert r.status_code == 400
    assert "Corrective actions are for failed items." in r.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get(
        "/manager/reports/export/visits.csv?month=2026-05").get_data(as_text=True))))
    assert rows[1][rows[0].index("Failed items")] == "2"


def test_a_time_at_its_limit_is_failed_and_below_it_not(app, chain):
    visit = make_visit(chain, chain.stores[0], visit_type="walk_in",
                       values={"speed_total": 300})
    total = next(a for a in visit.answers if a.item.code == "speed_total")
    assert total.failed
    assert db.session.scalar(select(Answer.failed).where(Answer.id == total.id))
    total.value = 299.0
    score_and_store(visit)
    db.session.commit()
    assert not total.failed
    assert not db.session.scalar(select(Answer.failed).where(Answer.id == total.id))


# --- 9. anonymity by design -----------------------------------------------------------------


def test_the_store_sees_the_daypart_unless_hq_allows_exact_times(client, auth, chain):
    visit = make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 10))
    visit.arrival_time = time(12, 37)
    db.session.commit()
    auth.login("m.e001@example.com")
    page = client.get(f"/manager/visits/{visit.id}").get_data(as_text=True)
    assert "12:37" not in page and "lunch, 10:30–14:00" in page
    chain.managers[0].locale = "zh_CN"
    db.session.commit()
    refresh()
    zh = client.get(f"/manager/visits/{visit.id}").get_data(as_text=True)
    assert "12:37" not in zh and "午餐，10:30至14:00" in zh
    chain.managers[0].locale = None
    db.session.commit()
    refresh()
    settings.save_setting("privacy", {"exact_times": True, "release_delay_hours": 0})
    db.session.commit()
    assert "12:37" in client.get(f"/manager/visits/{visit.id}").get_data(as_text=True)


def test_release_waits_for_the_minimum_delay_after_the_visit(client, auth, chain):
    visit = make_assignment(chain)
    payload = full_payload(visit)
    assert _submit(client, visit, payload).status_code == 200
    auth.login("hq@example.com")
    r = client.post("/hq/settings", data={
        "w_ms": 0.6, "w_qa": 0.25, "w_hl": 0.15, "d_minor": 2, "d_major": 5,
        "d_critical": 10, "quick_hours": 48, "quick_factor": 0.5, "band_excellent": 90,
        "band_good": 80, "band_fair": 70, "dispute_window_days": 7,
        "complaint_overdue_hours": 48, "release_delay_hours": 72})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert settings.get_setting("privacy")["release_delay_hours"] == 72
    r = client.post(f"/hq/visits/{visit.id}/release", follow_redirects=True)
    assert "keeps the shopper anonymous" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == SUBMITTED
    # once the delay has passed (the visit was three days earlier) it can be released
    stored = db.session.get(Visit, visit.id)
    stored.visit_date = utcnow().date() - timedelta(days=4)
    stored.month = f"{stored.visit_date:%Y-%m}"
    db.session.commit()
    client.post(f"/hq/visits/{visit.id}/release")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == RELEASED
