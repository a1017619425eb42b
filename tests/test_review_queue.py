"""HQ review queue: read a submitted visit, return it with a reason or release it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from auditapp.extensions import db
from auditapp.models import AuditLog, Photo, Visit
from auditapp.models.visit import RELEASED, RETURNED, SUBMITTED

from .factories import make_visit


def _submitted(chain, **kw) -> Visit:
    visit = make_visit(chain, chain.stores[0], status=SUBMITTED, visit_date=date(2026, 5, 10),
                       values={"courtesy_smile": 0}, **kw)
    visit.started_at = visit.submitted_at
    visit.checkin_latitude, visit.checkin_longitude = 31.3, 121.6
    visit.checkin_distance_m = 1520.0
    visit.location_flagged = True
    visit.overall_comment = "Queue was long 排队很长"
    db.session.commit()
    return visit


def test_queue_lists_submitted_visits_and_detail_shows_everything(client, auth, chain):
    visit = _submitted(chain)
    visit.photos.append(Photo(storage_key="k/abc.jpg", thumb_key="k/abc-t.jpg"))
    db.session.commit()
    make_visit(chain, chain.stores[1])  # released: not in the queue
    auth.login("hq@example.com")
    page = client.get("/hq/review").get_data(as_text=True)
    assert "上海南京西路店" in page and "Hangzhou Lake" not in page
    assert "MS-101" in page  # HQ sees the pseudonym
    assert "Far from store" in page

    detail = client.get(f"/hq/visits/{visit.id}")
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert "MS-101" in html and "1520 m" in html and "Far from store" in html
    assert "排队很长" in html
    assert f"/files/photos/{visit.photos[0].id}?thumb=1" in html
    assert 'class="failed' in html  # the "no" answer is highlighted
    assert "Release" in html and "Return to evaluator" in html
    for answer in visit.answers:
        assert answer.score is not None


def test_release_makes_the_visit_count(client, auth, chain, runner):
    visit = _submitted(chain)
    import json

    def bdi():
        out = runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json"]).output
        return {s["code"]: s["bdi"] for s in json.loads(out)["stores"]}["E001"]

    assert bdi() is None
    auth.login("hq@example.com")
    response = client.post(f"/hq/visits/{visit.id}/release")
    assert response.status_code == 303
    db.session.refresh(visit)
    assert visit.status == RELEASED and visit.released_at is not None
    assert visit.reviewed_by_id == chain.hq.id
    assert bdi() is not None
    log = db.session.scalars(select(AuditLog).where(AuditLog.entity == "visit")).all()
    assert [(r.action, r.before["status"], r.after["status"]) for r in log] == [
        ("release", SUBMITTED, RELEASED)
    ]
    # a released visit cannot be released or returned again
    again = client.post(f"/hq/visits/{visit.id}/release", follow_redirects=True)
    assert "Only a submitted visit can be released" in again.get_data(as_text=True)
    back = client.post(f"/hq/visits/{visit.id}/return", data={"reason": "late"})
    assert back.status_code == 409
    assert "Only a submitted visit can be returned" in back.get_data(as_text=True)
    db.session.refresh(visit)
    assert visit.status == RELEASED
    # the detail page stays reachable for released visits (end of the drill-down)
    assert client.get(f"/hq/visits/{visit.id}").status_code == 200


def test_return_needs_a_reason_and_reaches_the_shopper(client, auth, chain):
    visit = _submitted(chain)
    auth.login("hq@example.com")
    empty = client.post(f"/hq/visits/{visit.id}/return", data={"reason": "  "})
    assert empty.status_code == 400
    assert "Say what the evaluator must correct." in empty.get_data(as_text=True)
    db.session.refresh(visit)
    assert visit.status == SUBMITTED
    ok = client.post(f"/hq/visits/{visit.id}/return",
                     data={"reason": "Receipt photo missing 缺少小票"})
    assert ok.status_code == 303
    db.session.refresh(visit)
    assert visit.status == RETURNED and visit.return_reason == "Receipt photo missing 缺少小票"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "return"))
    assert entry.after["return_reason"] == "Receipt photo missing 缺少小票"
    assert client.get("/hq/review").get_data(as_text=True).count("上海南京西路店") == 0
    # a returned visit cannot be released
    client.post(f"/hq/visits/{visit.id}/release")
    db.session.refresh(visit)
    assert visit.status == RETURNED


def test_only_hq_reviews(client, auth, chain):
    visit = _submitted(chain)
    for user in ("m.e001@example.com", "MS-101", "qa@example.com"):
        auth.login(user)
        assert client.get("/hq/review").status_code == 403
        assert client.get(f"/hq/visits/{visit.id}").status_code == 403
        assert client.post(f"/hq/visits/{visit.id}/release").status_code == 403
        assert client.post(f"/hq/visits/{visit.id}/return",
                           data={"reason": "x"}).status_code == 403
        auth.logout()
    db.session.refresh(visit)
    assert visit.status == SUBMITTED
    assert client.get("/hq/review").status_code == 302  # anonymous: to the login page


def test_queue_filters_by_kind_and_dashboard_counts_unreviewed(client, auth, chain):
    _submitted(chain)
    make_visit(chain, chain.stores[2], kind="qa", status=SUBMITTED)
    auth.login("hq@example.com")
    qa_only = client.get("/hq/review?kind=qa").get_data(as_text=True)
    assert "北京王府井店" in qa_only and "上海南京西路店" not in qa_only
    dash = client.get("/hq/?month=2026-05").get_data(as_text=True)
    import re

    counter = re.search(r'id="unreviewed".*?<span class="big">(\d+)</span>', dash, re.S)
    assert counter and counter.group(1) == "2"
