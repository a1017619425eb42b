"""Open and closed months (SCORING.md §11) and settings versions (issue #16, items 2–3),
through HTTP and the CLI: closing is refused while anything is pending, a closed month's
figures never change (late releases, disputes, complaints and settings changes are refused
or go to the open month), open months are labelled provisional, settings changes take
effect from a month and a what-if preview shows their effect before saving."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime

import pytest
from flask import g
from flask_babel import refresh
from sqlalchemy import func, select, update

from auditapp import analytics
from auditapp.extensions import db
from auditapp.models import AuditLog, Dispute, MonthClosure, MonthFigure, SettingVersion, Visit
from auditapp.models.followup import DISPUTE_OPEN, DISPUTE_REJECTED
from auditapp.models.months import SCOPE_BRAND, SCOPE_STORE
from auditapp.models.visit import RELEASED, SUBMITTED

from .factories import PASSWORD, make_complaint, make_visit
from .manager_helpers import answer, file_dispute, released_visit

MAY, JUNE = analytics.Period.month("2026-05"), analytics.Period.month("2026-06")
SETTINGS_FORM = {
    "w_ms": "0.6", "w_qa": "0.25", "w_hl": "0.15", "d_minor": "2", "d_major": "5",
    "d_critical": "10", "quick_hours": "48", "quick_factor": "0.5", "band_excellent": "90",
    "band_good": "80", "band_fair": "70", "dispute_window_days": "7",
    "complaint_overdue_hours": "48",
}



def _close(client, month: str, **kwargs):
    return client.post("/hq/months/close", data={"month": month}, **kwargs)


def _two_months(chain):
    """May and June: E001 (MS + QA + a complaint) and E002 (MS only) in each."""
    e1, e2 = chain.stores[0], chain.stores[1]
    for day in (date(2026, 5, 10), date(2026, 6, 10)):
        make_visit(chain, e1, visit_date=day, values={"courtesy_thanks": 0})
        make_visit(chain, e1, kind="qa", visit_date=day, values={"qa_kitchen": 0})
        make_visit(chain, e2, visit_date=day, values={"clean_restroom": 0})
        make_complaint(e1, datetime.combine(day, datetime.min.time()), "major")


def _figures(period):
    """Every store's, region's and the brand's figures, as exact floats."""
    stores = [(s.code, s.ms, s.qa, s.hl, s.bdi, s.band, s.rank)
              for s in analytics.store_scores(period)]
    regions = [(r.name, r.bdi, r.band) for r in analytics.region_scores(period)]
    brand = analytics.brand_score(period)
    return stores, regions, (brand.bdi, brand.band)


def test_closing_is_refused_while_visits_await_review_or_disputes_are_open(client, auth, chain):
    waiting = make_visit(chain, chain.stores[0], status=SUBMITTED, visit_date=date(2026, 5, 12))
    disputed = released_visit(chain, chain.stores[1])
    auth.login("m.e002@example.com")
    assert file_dispute(client, disputed, answer(disputed, "clean_restroom")).status_code == 302
    auth.logout()
    auth.login("hq@example.com")

    page = client.get("/hq/months").get_data(as_text=True)
    assert "2026-05" in page and "Provisional" in page
    refused = _close(client, "2026-05")
    assert refused.status_code == 409
    assert ("2026-05 cannot be closed yet: 1 visit(s) await review and 1 dispute(s) are open."
            in refused.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(MonthClosure)) == 0

    assert client.post(f"/hq/visits/{waiting.id}/release").status_code == 303
    dispute = db.session.scalar(select(Dispute))
    client.post(f"/hq/disputes/{dispute.id}/decide",
                data={f"x{dispute.id}-decision": "reject", f"x{dispute.id}-note": "Checked."})
    assert _close(client, "2026-05").status_code == 303
    closure = db.session.get(MonthClosure, "2026-05")
    assert closure.closed_by_id == chain.hq.id
    assert closure.settings["component_weights"]["MS"] == 0.6
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "month")).action == "close"


def test_a_month_closes_once_after_it_ended_and_is_never_reopened(client, auth, chain):
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 12))
    auth.login("hq@example.com")
    this_month = f"{date.today():%Y-%m}"
    early = _close(client, this_month)
    assert early.status_code == 409
    assert f"{this_month} has not ended yet" in early.get_data(as_text=True)
    assert _close(client, "2026-13").status_code == 400
    assert _close(client, "2026-05").status_code == 303
    again = _close(client, "2026-05")
    assert again.status_code == 409
    assert "2026-05 is already closed. A closed month is never reopened." in again.get_data(
        as_text=True)
    assert "Close 2026-05" not in client.get("/hq/months").get_data(as_text=True)


def test_closing_stores_every_figure_as_it_stands(client, auth, chain):
    _two_months(chain)
    stores, _regions, (brand_bdi, brand_band) = _figures(MAY)
    auth.login("hq@example.com")
    assert _close(client, "2026-05").status_code == 303
    stored = {f.name: f for f in db.session.scalars(
        select(MonthFigure).where(MonthFigure.month == "2026-05",
                                  MonthFigure.scope == SCOPE_STORE))}
    by_code = {s.code: s for s in analytics.store_scores(MAY, include_inactive=True)}
    assert len(stored) == len(by_code) == 4
    for score in by_code.values():
        row = stored[score.name]
        assert (row.bdi, row.ms, row.qa, row.hl, row.band, row.rank) == (
            score.bdi, score.ms, score.qa, score.hl, score.band, score.rank)
    brand = db.session.scalar(select(MonthFigure).where(MonthFigure.scope == SCOPE_BRAND))
    assert (brand.bdi, brand.band) == (brand_bdi, brand_band)


def test_closed_month_refuses_late_release_dispute_and_complaint(client, auth, chain):
    store = chain.stores[0]
    released = released_visit(chain, store)  # May, released a day ago: window open
    auth.login("hq@example.com")
    assert _close(client, "2026-05").status_code == 303
    late = make_visit(chain, store, status=SUBMITTED, visit_date=date(2026, 5, 28))
    before = _figures(MAY)

    # a late release of a May visit
    r = client.post(f"/hq/visits/{late.id}/release", follow_redirects=True)
    assert ("2026-05 is closed: its figures are final, so this visit can no longer be "
            "released or disputed.") in r.get_data(as_text=True)
    db.session.refresh(late)
    assert late.status == SUBMITTED

    # a late complaint received in May (store time), and one in June, which is open
    data = {"store_id": store.id, "received_at": "2026-05-31T23:30", "channel": "phone",
            "severity": "critical", "category": "courtesy", "description": "Rude crew 店员态度差"}
    r = client.post("/hq/complaints/new", data=data)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert ("Complaints received in 2026-05 can no longer be recorded: the month is closed "
            "and its figures are final.") in html
    assert "Rude crew 店员态度差" in html  # what was typed is kept
    ok = client.post("/hq/complaints/new", data={**data, "received_at": "2026-06-01T08:00"})
    assert ok.status_code == 303

    # a quick resolution of a May complaint would halve its deduction: refused; a late one
    # (more than 48 h after receipt) leaves May's figures as they are
    may_complaint = make_complaint(store, datetime(2026, 5, 30, 2), "major")
    # (recorded behind the rules' back, to test resolving): the closed month reads its
    # snapshot, which does not move; only a live recomputation sees the new row
    assert _figures(MAY) == before
    with analytics.live_figures():
        assert _figures(MAY) != before
        live = _figures(MAY)
    quick = client.post(f"/hq/complaints/{may_complaint.id}/resolve",
                        data={"resolved_at": "2026-05-30T18:00"})
    assert quick.status_code == 400
    assert "This complaint&#39;s month (2026-05) is closed" in quick.get_data(as_text=True)
    slow = client.post(f"/hq/complaints/{may_complaint.id}/resolve",
                       data={"resolved_at": "2026-06-05T18:00"})
    assert slow.status_code == 303
    auth.logout()

    # a dispute on a released May visit, within its dispute window
    auth.login("m.e001@example.com")
    r = file_dispute(client, released, answer(released, "clean_restroom"))
    assert "2026-05 is closed" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0
    db.session.refresh(released)
    assert released.status == RELEASED
    assert _figures(MAY) == before
    with analytics.live_figures():
        assert _figures(MAY) == live


def test_weight_change_leaves_a_closed_month_untouched_to_the_digit(client, auth, chain, runner):
    _two_months(chain)
    auth.login("hq@example.com")
    assert _close(client, "2026-05").status_code == 303
    client.get("/hq/months")  # shows (and so clears) the flash message
    may_before, june_before = _figures(MAY), _figures(JUNE)
    cli_before = runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json"]).output
    page_before = client.get("/hq/?month=2026-05").get_data(as_text=True)

    # a change cannot take effect from the closed month …
    refused = client.post("/hq/settings", data={**SETTINGS_FORM, "w_ms": "1", "w_hl": "1",
                                                 "effective_from": "2026-05"})
    assert refused.status_code == 422
    assert ("A change cannot take effect from 2026-05: that month is closed. The earliest "
            "month is 2026-06.") in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SettingVersion)) == 0
    bad = client.post("/hq/settings", data={**SETTINGS_FORM, "effective_from": "June"})
    assert bad.status_code == 422 and "Write the month as YYYY-MM" in bad.get_data(as_text=True)

    # … and without a month it takes effect from the first open month
    saved = client.post("/hq/settings", data={**SETTINGS_FORM, "w_ms": "1", "w_hl": "1",
                                               "d_major": "20"}, follow_redirects=True)
    assert "Settings saved, in force from 2026-06." in saved.get_data(as_text=True)
    version = db.session.scalar(select(SettingVersion))
    assert version.effective_from == "2026-06"

    assert _figures(MAY) == may_before  # exact floats: untouched to the digit
    assert runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json"]).output \
        == cli_before
    assert client.get("/hq/?month=2026-05").get_data(as_text=True) == page_before
    assert _figures(JUNE) != june_before  # the open month is computed with the new version
    e1 = next(s for s in analytics.store_scores(JUNE) if s.code == "E001")
    assert e1.hl == pytest.approx(80)
    assert e1.bdi == pytest.approx((e1.ms + 0.25 * e1.qa + 80) / 2.25)
    # the trend of June compares with May as it was closed
    assert e1.previous_bdi is None  # (store_scores without with_trend)
    june = {s.code: s for s in analytics.store_scores(JUNE, with_trend=True)}
    assert june["E001"].previous_bdi == next(s[4] for s in may_before[0] if s[0] == "E001")


def test_effective_from_a_later_month_keeps_the_months_between(client, auth, chain):
    _two_months(chain)
    auth.login("hq@example.com")
    assert client.post("/hq/settings", data={**SETTINGS_FORM, "w_ms": "1", "w_qa": "0",
                                             "w_hl": "0", "effective_from": "2026-06"},
                       ).status_code == 302
    may, june = (next(s for s in analytics.store_scores(p) if s.code == "E001")
                 for p in (MAY, JUNE))
    assert may.bdi == pytest.approx(0.6 * may.ms + 0.25 * may.qa + 0.15 * may.hl)
    assert june.bdi == june.ms


def test_what_if_preview_shows_band_and_rank_moves_without_saving(client, auth, chain):
    e1, e2 = chain.stores[0], chain.stores[1]
    june = date(2026, 6, 10)
    make_visit(chain, e1, visit_date=june)  # MS 100
    make_visit(chain, e1, kind="qa", visit_date=june, values={"qa_kitchen": 0, "qa_staffing": 0})
    make_visit(chain, e2, visit_date=june, values={"clean_restroom": 0})  # MS 80
    make_visit(chain, e2, kind="qa", visit_date=june)  # QA 100
    current = {s.code: s for s in analytics.store_scores(JUNE)}
    assert current["E001"].rank == 1 and current["E002"].rank == 2
    assert current["E002"].band == "good"
    auth.login("hq@example.com")
    r = client.post("/hq/settings", data={**SETTINGS_FORM, "w_ms": "0", "w_qa": "1",
                                          "w_hl": "0", "preview": "1"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "What if: 2026-06 with these settings" in html
    assert "2 of 4 stores would change band." in html
    assert "<td>E002 Hangzhou Lake</td><td>88.0</td><td>100.0</td><td>Good</td><td>Excellent</td>" \
        in html
    assert "Largest rank moves" in html
    assert "<td>E002 Hangzhou Lake</td><td>2</td><td>1</td><td>+1</td>" in html
    assert db.session.scalar(select(func.count()).select_from(SettingVersion)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0
    assert 'value="1"' in html  # the draft is kept in the form


def test_open_months_are_provisional_and_pages_open_on_the_latest_closed_month(
        client, auth, chain, runner):
    _two_months(chain)
    auth.login("hq@example.com")
    # nothing closed: the latest month with visits, provisional everywhere
    page = client.get("/hq/").get_data(as_text=True)
    assert "2026-06" in page and "Provisional" in page
    assert client.get("/api/hq/bdi").get_json()["provisional"] is True
    assert _close(client, "2026-05").status_code == 303

    page = client.get("/hq/").get_data(as_text=True)
    assert "<small class=\"muted\">2026-05" in page and 'class="provisional"' not in page
    body = client.get("/api/hq/bdi").get_json()
    assert body["month"] == "2026-05" and body["provisional"] is False
    assert 'class="provisional"' in client.get("/hq/?month=2026-06").get_data(as_text=True)
    series = client.get("/api/hq/series?month=2026-06&months=2").get_json()["series"]
    assert [p["provisional"] for p in series] == [False, True]
    export = client.get("/hq/reports/export/scores.csv?month=2026-06").get_data(as_text=True)
    assert "Month status" in export and "Provisional" in export
    closed_export = client.get("/hq/reports/export/scores.csv?month=2026-05").get_data(as_text=True)
    assert "Final (month closed)" in closed_export
    client.post("/auth/language/zh_CN")
    refresh()  # the test's app context is shared by the requests: forget the cached locale
    zh = client.get("/hq/?month=2026-06").get_data(as_text=True)
    assert "暂定" in zh
    client.post("/auth/language/en")
    refresh()

    cli = runner.invoke(args=["bdi", "--month", "2026-06"]).output
    assert "Provisional: This month is open" in cli
    assert "Provisional" not in runner.invoke(args=["bdi", "--month", "2026-05"]).output
    assert json.loads(runner.invoke(
        args=["bdi", "--month", "2026-05", "--format", "json"]).output)["provisional"] is False



def _race(close_client, dispute_client, visit_id: int, answer_id: int) -> dict[str, int]:
    """HQ closes May while the manager files a dispute, at the same moment."""
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def close() -> None:
        barrier.wait()
        results["close"] = close_client.post("/hq/months/close",
                                             data={"month": "2026-05"}).status_code

    def dispute() -> None:
        barrier.wait()
        results["dispute"] = dispute_client.post(
            f"/manager/visits/{visit_id}/disputes",
            data={f"d{answer_id}-answer_id": str(answer_id),
                  f"d{answer_id}-reason": "The restroom was checked at 12:05."},
            content_type="multipart/form-data").status_code

    threads = [threading.Thread(target=close), threading.Thread(target=dispute)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_a_dispute_filed_while_the_month_closes_never_stays_open_in_a_closed_month(
        app, chain, database_url):
    """PostgreSQL, real concurrent requests: the manager files a dispute on a May visit
    while HQ closes May. Either the dispute comes first (and closing is refused) or the
    month closes first (and the dispute is refused); never both."""
    if database_url is None:
        pytest.skip("PostgreSQL only (set AUDITAPP_TEST_DATABASE_URL)")
    visit = released_visit(chain, chain.stores[0])
    restroom_id = answer(visit, "clean_restroom").id

    def logged_in(username: str):
        client = app.test_client()
        g.pop("_login_user", None)
        assert client.post("/auth/login", data={"username": username,
                                                "password": PASSWORD}).status_code == 302
        g.pop("_login_user", None)
        return client

    for _round in range(3):
        results = _race(logged_in("hq@example.com"), logged_in("m.e001@example.com"),
                        visit.id, restroom_id)
        db.session.expire_all()
        closed = db.session.get(MonthClosure, "2026-05") is not None
        open_disputes = db.session.scalar(select(func.count()).select_from(Dispute).where(
            Dispute.status == DISPUTE_OPEN))
        assert not (closed and open_disputes), results
        assert results.get("close") in (303, 409), results
        if closed:
            return
        # the dispute came first: decide it, so the next round races again
        db.session.execute(update(Dispute).values(status=DISPUTE_REJECTED))
        db.session.execute(update(Visit).where(Visit.id == visit.id).values(status=RELEASED))
        db.session.commit()
