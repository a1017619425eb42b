"""The shopper's JSON API and submission service, through HTTP."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import AuditLog, CompetitorStore, Visit, utcnow

from .shopper_helpers import expected_score, full_payload, jpeg_bytes, make_assignment


def submit_count(visit_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.entity == "visit", AuditLog.entity_id == str(visit_id),
        AuditLog.action == "submit"))


def test_double_submission_with_same_client_id_is_one_result(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    payload = full_payload(visit, client_id="c-123")
    first = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    second = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert first.status_code == 200 and second.status_code == 200
    assert first.json["duplicate"] is False and second.json["duplicate"] is True
    assert first.json["visit_id"] == second.json["visit_id"] == visit.id
    assert "score" not in first.json
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted" and stored.client_submission_id == "c-123"
    assert submit_count(visit.id) == 1
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    assert stored.score == pytest.approx(expected_score(stored, {}))
    # a different id after submission is refused, not a second result
    other = client.post(f"/api/shopper/visits/{visit.id}/submit",
                        json=full_payload(visit, client_id="c-999"))
    assert other.status_code == 409
    assert submit_count(visit.id) == 1


def test_submit_gives_a_clear_message_per_field(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    items = {i.code: i for i in visit.questionnaire.items}
    payload = full_payload(visit, {"speed_greeted": "na", "speed_total": 5000})
    del payload["answers"][str(items["courtesy_smile"].id)]
    payload["facts"]["arrival_time"] = ""
    payload["facts"]["receipt_total"] = "abc"
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert r.status_code == 422
    errors = r.json["errors"]
    assert "N/A is not allowed" in errors[f"item-{items['speed_greeted'].id}"]
    assert "between 0 and 3600" in errors[f"item-{items['speed_total'].id}"]
    assert "answer this question" in errors[f"item-{items['courtesy_smile'].id}"]
    assert "arrival_time" in errors and "receipt_total" in errors
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "assigned"
    # N/A where allowed is fine
    ok = full_payload(visit, {"clean_restroom": "na"})
    assert client.post(f"/api/shopper/visits/{visit.id}/submit", json=ok).status_code == 200


def test_draft_and_checkin_move_the_visit_in_progress(client, auth, chain):
    visit = make_assignment(chain)  # store E001 at 31.23, 121.47
    auth.login("MS-101")
    r = client.post(f"/api/shopper/visits/{visit.id}/checkin",
                    json={"consent": True, "latitude": 31.26, "longitude": 121.47})
    assert r.status_code == 200 and r.json["status"] == "in_progress"
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.started_at is not None
    assert stored.checkin_distance_m == pytest.approx(3336, rel=0.01)
    assert stored.location_flagged is True
    payload = full_payload(visit)
    payload["facts"]["order_description"] = "half typed"
    r = client.put(f"/api/shopper/visits/{visit.id}/draft", json=payload)
    assert r.status_code == 200 and r.json["status"] == "saved"
    got = client.get(f"/api/shopper/visits/{visit.id}").json
    assert got["state"]["facts"]["order_description"] == "half typed"
    assert "checkin_distance_m" not in got and "location_flagged" not in got
    assert len(got["questionnaire"]["dimensions"]) == 5


def test_checkin_near_the_store_is_not_flagged(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    client.post(f"/api/shopper/visits/{visit.id}/checkin",
                json={"consent": True, "latitude": 31.2302, "longitude": 121.4701})
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).location_flagged is False


def test_bearer_token_opens_only_its_visit(client, chain):
    visit = make_assignment(chain)
    other = make_assignment(chain, shopper=chain.shoppers[1], store=chain.stores[1])
    h = {"Authorization": f"Bearer {visit.access_token}"}
    assert client.get(f"/api/shopper/visits/{visit.id}", headers=h).status_code == 200
    assert client.get(f"/api/shopper/visits/{other.id}", headers=h).status_code == 404
    assert client.get(f"/api/shopper/visits/{visit.id}").status_code == 401
    r = client.get("/api/shopper/assignments", headers=h)
    assert [a["id"] for a in r.json["assignments"]] == [visit.id]
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", headers=h,
                    json=full_payload(visit))
    assert r.status_code == 200
    visit.token_expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/api/shopper/visits/{visit.id}", headers=h).status_code == 404


def test_a_link_without_its_own_expiry_lasts_the_usual_lifetime(client, chain):
    """A visit made by hand (no token_expires_at) must not open for ever."""
    from auditapp.visits import TOKEN_LIFETIME

    visit = make_assignment(chain)
    visit.token_expires_at = None
    db.session.commit()
    h = {"Authorization": f"Bearer {visit.access_token}"}
    assert client.get(f"/api/shopper/visits/{visit.id}", headers=h).status_code == 200
    visit.created_at = utcnow() - TOKEN_LIFETIME - timedelta(hours=1)
    db.session.commit()
    assert client.get(f"/api/shopper/visits/{visit.id}", headers=h).status_code == 404
    assert client.get(f"/shopper/t/{visit.access_token}").status_code == 404


def test_other_shoppers_work_is_invisible(client, auth, chain):
    mine = make_assignment(chain)
    theirs = make_assignment(chain, shopper=chain.shoppers[1], store=chain.stores[1])
    auth.login("MS-101")
    page = client.get("/shopper/").get_data(as_text=True)
    assert chain.stores[0].name in page and chain.stores[1].name not in page
    assert client.get(f"/shopper/visits/{theirs.id}").status_code == 404
    assert client.get(f"/api/shopper/visits/{theirs.id}").status_code == 404
    assert client.post(f"/api/shopper/visits/{theirs.id}/submit",
                       json=full_payload(theirs)).status_code == 404
    assert client.get(f"/shopper/visits/{mine.id}").status_code == 200


def test_photo_upload_is_checked_stripped_and_thumbnailed(app, client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    big = jpeg_bytes(size=(2400, 1800), exif_make="SecretPhone")
    r = client.post(f"/api/shopper/visits/{visit.id}/photos",
                    data={"photo": (BytesIO(big), "x.jpg"), "category": "receipt"})
    assert r.status_code == 201
    with client.get(r.json["url"]) as f:
        stored = Image.open(BytesIO(f.data))
        assert max(stored.size) == 1600
        assert "SecretPhone" not in f.data.decode("latin-1")
        assert not stored.getexif()
    with client.get(r.json["thumb_url"]) as f:
        assert max(Image.open(BytesIO(f.data)).size) <= 320

    r = client.post(f"/api/shopper/visits/{visit.id}/photos",
                    data={"photo": (BytesIO(b"not an image at all"), "x.jpg")})
    assert r.status_code == 400 and "not a photo" in r.json["errors"]["photo"]
    app.config["MAX_PHOTO_BYTES"] = 1000
    r = client.post(f"/api/shopper/visits/{visit.id}/photos",
                    data={"photo": (BytesIO(big), "x.jpg")})
    assert r.status_code == 400 and "too large" in r.json["errors"]["photo"]
    db.session.expire_all()
    assert len(db.session.get(Visit, visit.id).photos) == 1


def test_decompression_bomb_is_refused(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    out = BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 Mpx, a few KB
    r = client.post(f"/api/shopper/visits/{visit.id}/photos",
                    data={"photo": (BytesIO(out.getvalue()), "bomb.png")})
    assert r.status_code == 400 and r.json["errors"]["photo"]


def test_html_form_keeps_everything_after_a_bad_photo(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    item = visit.questionnaire.items[1]
    r = client.post(f"/shopper/visits/{visit.id}", data={
        "action": "submit", "order_description": "Typed order text",
        f"v_{item.id}": "1", f"c_{item.id}": "typed comment",
        "photos": (BytesIO(b"%PDF-1.4 no image"), "receipt.jpg"),
    }, content_type="multipart/form-data")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "not a photo" in page
    assert "Typed order text" in page and "typed comment" in page
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "in_progress"


def test_html_form_submit_without_javascript(client, auth, chain):
    visit = make_assignment(chain, visit_type="dine_in")
    auth.login("MS-101")
    p = full_payload(visit)
    data = {"action": "submit", "client_submission_id": "html-1",
            "visit_date": p["facts"]["visit_date"], "arrival_time": "00:00",
            "visit_type_confirmed": "1", "receipt_total": "20"}
    for key, a in p["answers"].items():
        data[f"v_{key}"] = str(a["value"])
    data.pop(f"v_{visit.questionnaire.items[2].id}")
    r = client.post(f"/shopper/visits/{visit.id}", data=data)
    assert r.status_code == 400 and "Please answer this question." in r.get_data(as_text=True)
    data[f"v_{visit.questionnaire.items[2].id}"] = "60"
    r = client.post(f"/shopper/visits/{visit.id}", data=data)
    assert r.status_code == 302 and "sent=1" in r.location
    page = client.get(r.location).get_data(as_text=True)
    assert "your report was sent" in page
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "submitted"
    # a resent form (same client id) lands on the same confirmation, and nothing changes
    again = client.post(f"/shopper/visits/{visit.id}", data={**data, "arrival_time": "00:01"})
    assert again.status_code == 302 and "sent=1" in again.location
    assert submit_count(visit.id) == 1
    # read-only now
    r = client.post(f"/shopper/visits/{visit.id}", data={**data, "client_submission_id": "x",
                                                        "arrival_time": "00:01"})
    assert "sent=1" not in (r.location or "")
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).arrival_time.strftime("%H:%M") == "00:00"


def test_returned_visit_shows_reason_and_can_be_resubmitted(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    assert client.post(f"/api/shopper/visits/{visit.id}/submit",
                       json=full_payload(visit, client_id="a")).status_code == 200
    visit = db.session.get(Visit, visit.id)
    visit.status, visit.return_reason = "returned", "Receipt photo missing"
    db.session.commit()
    page = client.get(f"/shopper/visits/{visit.id}").get_data(as_text=True)
    assert "Receipt photo missing" in page and 'id="audit-form"' in page
    r = client.post(f"/api/shopper/visits/{visit.id}/submit",
                    json=full_payload(visit, {"quality_taste": -90}, client_id="b"))
    assert r.status_code == 200 and r.json["duplicate"] is False
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted"
    assert stored.score == pytest.approx(expected_score(stored, {"quality_taste": -90}))


def test_token_link_form_and_competitor_visit(client, chain):
    comp = CompetitorStore(competitor="Rival", name="Rival Plaza", address="Plaza 1")
    db.session.add(comp)
    db.session.commit()
    visit = make_assignment(chain, competitor=comp)
    r = client.get(f"/shopper/t/{visit.access_token}")
    assert r.status_code == 200 and "Rival Plaza" in r.get_data(as_text=True)
    assert client.get("/shopper/t/not-a-token").status_code == 404
    h = {"Authorization": f"Bearer {visit.access_token}"}
    assert client.post(f"/api/shopper/visits/{visit.id}/submit", headers=h,
                       json=full_payload(visit)).status_code == 200
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted" and stored.store_id is None and stored.score is not None


def test_qa_auditor_starts_fills_and_submits_an_audit(client, auth, chain):
    auth.login("qa@example.com")
    page = client.get("/hq/qa").get_data(as_text=True)
    assert chain.stores[0].name in page
    r = client.post("/hq/qa", data={"store_id": str(chain.stores[2].id), "visit_type": "dine_in"})
    assert r.status_code == 302
    # a double tap opens the same audit, it does not start a second one
    again = client.post("/hq/qa", data={"store_id": str(chain.stores[2].id),
                                        "visit_type": "dine_in"})
    assert again.status_code == 302 and again.location == r.location
    visit = db.session.scalars(select(Visit).where(Visit.kind == "qa")).one()
    assert visit.evaluator_id == chain.qa.id and visit.questionnaire_id == chain.qa_q.id
    assert client.get(r.location).status_code == 200
    payload = full_payload(visit)
    payload["facts"].pop("visit_type_confirmed")
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert r.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted"
    assert stored.score == pytest.approx(expected_score(stored, {}))
    assert "Awaiting review" in client.get("/hq/qa").get_data(as_text=True)
    # shoppers cannot reach QA pages; bad store choice is explained
    assert client.post("/hq/qa", data={"store_id": "999"}).status_code == 400


def test_service_worker_and_openapi(client):
    r = client.get("/shopper/sw.js")
    assert r.status_code == 200 and "javascript" in r.content_type
    assert r.headers["Service-Worker-Allowed"] == "/shopper/"
    spec = client.get("/api/openapi.json").json
    assert "/api/shopper/visits/{visit_id}/submit" in spec["paths"]
    assert "Payload" in spec["components"]["schemas"]


def test_chinese_locale_shows_chinese_texts_and_csm_labels(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    client.post("/auth/language/zh_CN", data={"next": "/shopper/"})
    page = client.get(f"/shopper/visits/{visit.id}").get_data(as_text=True)
    assert "10 秒内是否有员工招呼或示意？" in page
    assert "十分满意" in page and "较不满意" in page
    assert "服务速度" in page


def test_token_holder_sees_their_photo_thumbnails(client, chain):
    visit = make_assignment(chain)
    h = {"Authorization": f"Bearer {visit.access_token}"}
    r = client.post(f"/api/shopper/visits/{visit.id}/photos", headers=h,
                    data={"photo": (BytesIO(jpeg_bytes()), "a.jpg"), "category": "food"})
    assert r.status_code == 201 and r.json["thumb_url"].startswith("/shopper/t/")
    with client.get(r.json["thumb_url"]) as f:
        assert f.status_code == 200 and f.mimetype == "image/jpeg"
    page = client.get(f"/shopper/t/{visit.access_token}").get_data(as_text=True)
    assert r.json["thumb_url"].replace("&", "&amp;") in page
    with client.get(f"/shopper/t/wrong/photos/{r.json['id']}?thumb=1") as f:
        assert f.status_code == 404
