"""Store managers' portal: their stores' figures, audit detail, anonymity, access."""

from __future__ import annotations

from datetime import date, time

import pytest

from auditapp.extensions import db
from auditapp.models.visit import SUBMITTED

from .factories import make_complaint, make_visit
from .manager_helpers import (
    SHOPPER_SECRETS,
    add_action,
    add_photo,
    answer,
    file_dispute,
    get_text,
    make_area_manager,
    png_bytes,
    released_visit,
)


def test_my_stores_shows_bdi_components_trend_dimensions_rank(client, auth, chain):
    e1, e2 = chain.stores[0], chain.stores[1]
    make_visit(chain, e1, visit_date=date(2026, 4, 8), default=None)
    make_visit(chain, e1, visit_date=date(2026, 5, 8), values={"courtesy_thanks": 0})
    make_visit(chain, e2, visit_date=date(2026, 5, 9), values={"clean_restroom": 0})
    make_visit(chain, e1, kind="qa", visit_date=date(2026, 5, 12))
    auth.login("m.e001@example.com")
    status, html = get_text(client, "/manager/?month=2026-05")
    assert status == 200
    assert "上海南京西路店" in html and "Hangzhou Lake" not in html  # only my store
    assert "<svg" in html and "<polyline" in html  # 12-month trend drawn by the app
    assert "2025-06" in html and "2026-05" in html  # 12 months, oldest to this one
    assert "Rank 1 of 2 in East 华东" in html
    for label in ("Mystery shop", "QA audit", "Hotline", "Order accuracy", "Region", "Brand"):
        assert label in html
    # bad month input: a clear message next to the picker, page still shown
    status, html = get_text(client, "/manager/?month=May")
    assert status == 200 and "Write the month as YYYY-MM" in html


def test_store_page_lists_only_released_visits(client, auth, chain):
    released = released_visit(chain)
    pending = make_visit(chain, chain.stores[0], status=SUBMITTED)
    make_complaint(chain.stores[0], released.released_at)
    auth.login("m.e001@example.com")
    status, html = get_text(client, f"/manager/stores/{chain.stores[0].id}?month=2026-05")
    assert status == 200
    assert f"/manager/visits/{released.id}" in html
    assert f"/manager/visits/{pending.id}" not in html
    assert "Not read yet" in html


def test_audit_detail_shows_scores_failures_comments_photos_timings(client, auth, chain):
    visit = released_visit(chain)
    restroom = answer(visit, "clean_restroom")
    photo = add_photo(visit, restroom.item)
    auth.login("m.e001@example.com")
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert status == 200
    assert "Critical failures" in html
    assert "Was the restroom clean and stocked?" in html
    # the critical failure is listed before any other item of its dimension
    clean = html.index('id="dim-cleanliness"')
    assert html.index("Critical failure", clean) < html.index("Were the dining area", clean)
    assert "No soap in the restroom." in html and "Busy lunchtime" in html
    assert f"/files/photos/{photo.id}?thumb=1" in html
    assert "Timed: 200 s (target 120 s, limit 300 s)" in html
    assert "Speed of service" in html and "Mark as read" in html
    assert "You can dispute items until" in html
    with client.get(f"/files/photos/{photo.id}?thumb=1") as r:
        assert r.status_code == 200


@pytest.mark.parametrize("who", ["store_manager", "area_manager"])
def test_shopper_identity_never_reaches_the_manager(client, auth, chain, who):
    """Search every response a store manager or area manager sees for the shopper's
    pseudonym and name."""
    shopper = chain.shoppers[0]
    assert (shopper.username, shopper.name) == SHOPPER_SECRETS
    visit = released_visit(chain)
    visit.checkin_latitude, visit.checkin_longitude = 31.2304, 121.4737
    visit.checkin_distance_m = 42.5
    visit.arrival_time = time(12, 37)  # shown as its daypart only (issue #15)
    db.session.commit()
    restroom, thanks = answer(visit, "clean_restroom"), answer(visit, "courtesy_thanks")
    photo = add_photo(visit, restroom.item)
    general = add_photo(visit)
    # what HQ keeps on the visit's integrity (issue #15): never shown to a manager
    from auditapp.models import PhotoMeta, VisitEvent, VisitFlag

    db.session.add_all([
        PhotoMeta(photo_id=photo.id, camera_make="Acme", camera_model="Secret Cam 9",
                  latitude=31.9876, longitude=121.9876, phash="f0f0f0f0f0f0f0f0"),
        VisitFlag(visit_id=visit.id, code="visit_type", detail={"type": "walk_in"}),
        VisitEvent(visit_id=visit.id, kind="checkin",
                   data={"latitude": 31.2304, "longitude": 121.4737, "accuracy_m": 17.25}),
    ])
    # the shopper as a workforce (issue #20): grade, pay, payout, integrity answers
    from decimal import Decimal

    from auditapp.models import (
        IntegrityAnswer,
        IntegrityQuestion,
        ReportGrade,
        ShopperProfile,
        VisitPay,
    )

    question = IntegrityQuestion(questionnaire_code=visit.questionnaire.code,
                                 text="Badge colour secret?", options=["Red", "Blue"])
    db.session.add_all([
        question,
        ReportGrade(visit_id=visit.id, grade=7, reasons=["vague_comments"]),
        VisitPay(visit_id=visit.id, expense_cap=Decimal("88.88"), fee=Decimal("50.00"),
                 expenses=Decimal("73.45"), amount=Decimal("123.45"), status="paid",
                 shopper_id=shopper.id),
        ShopperProfile(user_id=shopper.id, home_city="Secretville", home_area="Hidden Park",
                       payout_method="Alipay", payout_name="A. Payee",
                       payout_account="6222-SECRET-ACCOUNT"),
    ])
    db.session.flush()
    db.session.add(IntegrityAnswer(visit_id=visit.id, question_id=question.id, answer=0,
                                   correct=False))
    db.session.commit()
    if who == "area_manager":
        make_area_manager("area.east@example.com", chain.regions[0])
        auth.login("area.east@example.com")
    else:
        auth.login("m.e001@example.com")
    assert file_dispute(client, visit, restroom, evidence=png_bytes()).status_code == 302
    assert add_action(client, visit, thanks).status_code == 302
    client.post(f"/manager/visits/{visit.id}/acknowledge")
    from auditapp.models import Dispute

    dispute = db.session.scalars(db.select(Dispute)).one()
    urls = [
        "/manager/",
        "/manager/?month=2026-05",
        f"/manager/stores/{chain.stores[0].id}",
        f"/manager/stores/{chain.stores[0].id}?month=2026-05",
        f"/manager/visits/{visit.id}",
        "/manager/actions",
        f"/manager/disputes/{dispute.id}/evidence/0",
        f"/files/photos/{photo.id}",
        f"/files/photos/{photo.id}?thumb=1",
        f"/files/photos/{general.id}",
        "/manager/reports?month=2026-05",
        "/manager/reports/export/visits.csv?month=2026-05",
        "/manager/reports/export/scores.csv?month=2026-05",
    ]
    if who == "area_manager":
        urls += ["/manager/regions", "/manager/regions?month=2026-05"]
    # no exact arrival minute: "· 12:37" as the visit page writes a time, "12:37:00";
    # no paradata, photo metadata or integrity flag
    secrets = [*SHOPPER_SECRETS, "31.2304", "121.4737", "42.5", "· 12:37", "12:37:00",
               "Secret Cam", "Acme", "31.9876", "f0f0f0f0", "17.25", "answered No to",
               "Visit type not as assigned", "Risk",
               # issue #20: no grade, leniency, pay, payout or integrity answer
               "Report grade", "/10", "Vague comments", "Leniency", "lenient", "123.45",
               "73.45", "88.88", "Expense cap", "6222-SECRET", "Secretville", "Hidden Park",
               "Alipay", "A. Payee", "Badge colour", "integrity answer"]
    for url in urls:
        with client.get(url) as r:
            assert r.status_code == 200, url
            body = r.get_data()
        if url == f"/manager/visits/{visit.id}":
            assert "lunch, 10:30–14:00".encode() in body
        for secret in secrets:
            assert secret.encode() not in body, (url, secret)
    # JSON error answers too
    with client.get(f"/manager/visits/{visit.id + 99}",
                    headers={"Accept": "application/json"}) as r:
        assert r.status_code == 404
        assert all(s.encode() not in r.get_data() for s in SHOPPER_SECRETS)
    # a form re-shown with errors
    r = file_dispute(client, visit, thanks, reason="short")
    assert r.status_code == 400
    assert all(s not in r.get_data(as_text=True) for s in SHOPPER_SECRETS)


def test_manager_refused_on_other_stores_and_unreleased_visits(client, auth, chain):
    other = released_visit(chain, chain.stores[1])
    mine_pending = make_visit(chain, chain.stores[0], status=SUBMITTED)
    photo = add_photo(other)
    other_ans = answer(other, "clean_restroom")
    auth.login("m.e002@example.com")  # manager of store 2 files a dispute with evidence
    assert file_dispute(client, other, other_ans, evidence=png_bytes()).status_code == 302
    auth.logout()
    auth.login("m.e001@example.com")
    from auditapp.models import Dispute

    dispute = db.session.scalars(db.select(Dispute)).one()
    for url in (
        f"/manager/stores/{chain.stores[1].id}",
        f"/manager/visits/{other.id}",
        f"/manager/visits/{mine_pending.id}",
        f"/files/photos/{photo.id}",
        f"/manager/disputes/{dispute.id}/evidence/0",
        "/manager/stores/9999",
        "/manager/visits/9999",
    ):
        with client.get(url) as r:
            assert r.status_code == 404, url
    # nor may they act on another store's visit
    assert file_dispute(client, other, other_ans).status_code == 404
    assert add_action(client, other, answer(other, "courtesy_thanks")).status_code == 404
    assert client.post(f"/manager/visits/{other.id}/acknowledge").status_code == 404
    db.session.refresh(other)
    assert other.acknowledged_at is None
    # other roles may not use the manager portal
    auth.logout()
    auth.login("MS-101")
    assert client.get("/manager/").status_code == 403
    assert client.get(f"/manager/visits/{other.id}").status_code == 403


def test_acknowledge_and_hq_sees_unread_stores(client, auth, chain):
    mine = released_visit(chain)
    released_visit(chain, chain.stores[2])
    auth.login("hq@example.com")
    status, html = get_text(client, "/hq/actions")
    assert "上海南京西路店" in html and "北京王府井店" in html
    auth.logout()
    auth.login("m.e001@example.com")
    r = client.post(f"/manager/visits/{mine.id}/acknowledge", follow_redirects=True)
    assert "You marked this audit as read" in r.get_data(as_text=True)
    db.session.refresh(mine)
    assert mine.acknowledged_at is not None
    assert mine.acknowledged_by_id == chain.managers[0].id
    auth.logout()
    auth.login("hq@example.com")
    status, html = get_text(client, "/hq/actions")
    unread = html[html.index('id="unread"'):]
    assert "上海南京西路店" not in unread and "北京王府井店" in unread


def test_pages_render_in_chinese(client, auth, chain):
    visit = released_visit(chain)
    auth.login("m.e001@example.com")
    client.post("/auth/language/zh_CN")
    for url in ("/manager/?month=2026-05", f"/manager/stores/{chain.stores[0].id}",
                f"/manager/visits/{visit.id}", "/manager/actions"):
        status, html = get_text(client, url)
        assert status == 200 and 'lang="zh-CN"' in html, url
    status, html = get_text(client, f"/manager/visits/{visit.id}")
    assert "洗手间是否干净且用品齐全？" in html  # the item's Chinese text
    assert "十分满意" in html  # CSM levels by their Chinese names
