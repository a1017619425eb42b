"""Issue #17 items 1, 3, 4, 5 through HTTP: a visit on a questionnaire with every type
(scores, pages, export, PDF), follow-ups on a failed answer, photos attached to an item
(API, no-JS form, manager page, PDF, dispute page) and the QA form's own facts."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from auditapp import scoring
from auditapp.extensions import db
from auditapp.models import Dispute, Photo, Visit
from auditapp.questionnaires import build_questionnaire
from auditapp.visits import release

from .shopper_helpers import full_payload, jpeg_bytes, make_assignment

OPTIONS = {"options": [{"text": "Fresh", "text_zh": "新鲜", "points": 100},
                       {"text": "Acceptable", "text_zh": "尚可", "points": 60},
                       {"text": "Stale", "text_zh": "不新鲜", "points": 0}]}
ITEMS = {
    "speed": [("t_info", "info", "Order a burger meal.", "点一份汉堡套餐。", 1.0, False, False),
              ("t_time", "timed", "Time to serve (s)", "出餐时间（秒）", 1.0, False, False)],
    "courtesy": [("t_bun", "choice", "How fresh was the bun?", "面包新鲜吗？", 1.0, False,
                  False, {"config": OPTIONS})],
    "accuracy": [("t_ok", "yesno", "Order correct?", "订单正确吗？", 1.0, False, False,
                  {"require_comment": True, "require_photo": True}),
                 ("t_why", "text", "What was wrong?", "哪里出错了？", 1.0, False, False,
                  {"condition": {"when": {"item": "t_ok", "failed": True}}})],
    "quality": [("t_temp", "number", "Burger temperature (°C)", "汉堡温度（°C）", 1.0, False,
                 False, {"config": {"lo": 60, "hi": 75, "unit": "°C"}})],
    "cleanliness": [("t_photo", "photo", "Photo of the counter", "柜台照片", 1.0, False,
                     False),
                    ("t_clean", "scale7", "Clean?", "干净吗？", 1.0, False, False)],
}


@pytest.fixture
def engine_visit(chain):
    q = build_questionnaire("ENG", "Every type", "mystery", ITEMS)
    db.session.add(q)
    db.session.flush()
    visit = make_assignment(chain, visit_type="walk_in")
    visit.questionnaire = q
    db.session.commit()
    return visit


def _items(visit):
    return {i.code: i for i in visit.questionnaire.items}


def _api(client, visit, path, **kw):
    return client.post(f"/api/shopper/visits/{visit.id}{path}",
                       headers={"Authorization": f"Bearer {visit.access_token}"}, **kw)


def _photo(client, visit, item_id=None):
    data = {"photo": (io.BytesIO(jpeg_bytes()), "p.jpg"), "category": "food"}
    if item_id is not None:
        data["item_id"] = str(item_id)
    return _api(client, visit, "/photos", data=data, content_type="multipart/form-data")


def _payload(visit, **values):
    items = _items(visit)
    base = {"t_time": 100, "t_bun": 1, "t_ok": 1, "t_temp": "75", "t_clean": 30}
    base.update(values)
    payload = full_payload(visit, {})
    payload["answers"] = {str(items[c].id): {"value": v, "na": False, "comment": ""}
                          for c, v in base.items()}
    return payload


def test_every_type_submitted_scored_and_shown(client, auth, chain, engine_visit, app):
    visit = engine_visit
    items = _items(visit)
    r = _api(client, visit, "/submit", json=_payload(visit))
    assert r.status_code == 422  # the photo item has no photo yet
    assert "Add a photo" in r.get_json()["errors"][f"item-{items['t_photo'].id}"]
    assert _photo(client, visit, items["t_photo"].id).status_code == 201
    r = _api(client, visit, "/submit", json=_payload(visit))
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    answers = {a.item.code: a for a in stored.answers}
    assert "t_info" not in answers and "t_why" not in answers  # read only / hidden
    assert answers["t_bun"].score == 60.0 and answers["t_temp"].score == 100.0  # bound in
    assert answers["t_photo"].value == 1 and answers["t_photo"].score is None
    dims = {d.dimension: d.score for d in stored.dimension_scores}
    assert dims["courtesy"] == 60.0 and dims["quality"] == 100.0
    assert dims["cleanliness"] == pytest.approx((30 + 90) / 180 * 100)  # the photo: not in S_d
    # HQ page, export and PDF show each type's answer
    release(stored, chain.hq)
    stored.visit_date = date(2026, 5, 10)
    db.session.commit()
    auth.login("hq@example.com")
    page = client.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    assert "Acceptable" in page and "75 °C" in page and "1 photo" in page
    with client.get("/hq/reports/export/visits.csv?month=2026-05") as r:
        rows = list(csv.DictReader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    row = next(x for x in rows if int(x["Visit no."]) == visit.id)
    assert row["t_bun"] == "Acceptable" and row["t_temp"] == "75" and row["t_ok"] == "Yes"
    with client.get(f"/hq/reports/visits/{visit.id}.pdf") as r:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert "Acceptable (60 points)" in text and "75 °C (range 60 to 75)" in text
    assert "Order a burger meal" not in text  # an instruction is not an answer


def test_number_outside_its_range_fails_and_scores_zero(client, chain, engine_visit):
    visit = engine_visit
    items = _items(visit)
    _photo(client, visit, items["t_photo"].id)
    r = _api(client, visit, "/submit", json=_payload(visit, t_temp="59.9", t_bun=2))
    assert r.status_code == 200
    db.session.expire_all()
    answers = {a.item.code: a for a in db.session.get(Visit, visit.id).answers}
    assert answers["t_temp"].score == 0.0 and answers["t_temp"].failed
    assert answers["t_bun"].score == 0.0 and answers["t_bun"].failed  # "Stale": 0 points
    assert not answers["t_ok"].failed


def test_a_failed_answer_needs_its_comment_and_photo(client, chain, engine_visit):
    visit = engine_visit
    items = _items(visit)
    ok = items["t_ok"]
    _photo(client, visit, items["t_photo"].id)
    payload = _payload(visit, t_ok=0)
    payload["answers"][str(items["t_why"].id)] = {"value": "Cola missing", "na": False,
                                                  "comment": ""}
    r = _api(client, visit, "/submit", json=payload)
    assert r.status_code == 422
    message = r.get_json()["errors"][f"item-{ok.id}"]
    assert "needs a comment" in message and "needs a photo" in message
    payload["answers"][str(ok.id)]["comment"] = "The cola was missing"
    r = _api(client, visit, "/submit", json=payload)
    assert r.get_json()["errors"][f"item-{ok.id}"].startswith("This answer needs a photo")
    r = _photo(client, visit, ok.id)
    assert r.status_code == 201 and r.get_json()["item_id"] == ok.id
    assert _api(client, visit, "/submit", json=payload).status_code == 200
    # "Yes" needs neither (the follow-ups are for a failed answer only): see the test above


def test_the_form_says_what_a_failed_answer_needs(client, chain, engine_visit):
    html = client.get(f"/shopper/t/{engine_visit.access_token}").get_data(as_text=True)
    assert "If the answer fails, say why in a comment and add a photo." in html
    assert f'name="p_{_items(engine_visit)["t_ok"].id}"' in html  # the item's photo field


def test_item_photos_from_the_no_js_form_and_refused_item_ids(client, chain, engine_visit):
    visit = engine_visit
    items = _items(visit)
    r = client.post(f"/shopper/t/{visit.access_token}", data={
        "action": "draft", f"p_{items['t_photo'].id}": (io.BytesIO(jpeg_bytes()), "c.jpg")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    photo = db.session.scalar(select(Photo).where(Photo.visit_id == visit.id))
    assert photo.item_id == items["t_photo"].id
    other = chain.ms_q.items[0].id  # a question of another questionnaire
    for bad in (str(other), "abc"):
        r = _photo(client, visit, bad)
        assert r.status_code == 400 and "no such question" in r.get_json()["message"]
    html = client.get(f"/shopper/t/{visit.access_token}").get_data(as_text=True)
    assert f'id="thumbs-{items["t_photo"].id}"' in html and "/photos/" in html


def test_managers_and_hq_see_each_photo_with_its_item(client, auth, chain):
    from .factories import make_visit

    visit = make_visit(chain, chain.stores[0], values={"clean_restroom": 0})
    restroom = next(a for a in visit.answers if a.item.code == "clean_restroom")
    from auditapp import photos

    visit.status = "in_progress"
    photo = photos.add_photo(visit, jpeg_bytes(), "premises", item_id=restroom.item_id)
    visit.status = "released"
    db.session.commit()
    manager = next(m for m in chain.managers if chain.stores[0] in m.stores)
    auth.login(manager.username)
    page = client.get(f"/manager/visits/{visit.id}").get_data(as_text=True)
    block = page[page.index(f'id="item-{restroom.id}"'):]
    block = block[:block.index("</li>")]
    assert f"/photos/{photo.id}" in block
    db.session.add(Dispute(visit_id=visit.id, answer_id=restroom.id, reason="It was clean",
                           created_by_id=manager.id))
    db.session.commit()
    auth.logout()
    auth.login("hq@example.com")
    page = client.get("/hq/disputes").get_data(as_text=True)
    assert f"/photos/{photo.id}" in page


def test_the_qa_form_asks_only_what_applies_to_an_auditor(client, auth, chain):
    visit = make_assignment(chain, kind="qa", shopper=chain.qa, visit_type="dine_in")
    auth.login("qa@example.com")
    html = client.get(f"/hq/qa/{visit.id}").get_data(as_text=True)
    assert 'id="visit_date"' in html
    for fact in ("receipt_total", "visit_type_confirmed", "order_description"):
        assert f'name="{fact}"' not in html
    assert "Walk-in fridge temperature" in html and "Acceptable: 0 to 5 °C" in html
    payload = full_payload(visit)
    payload["facts"] = {"visit_date": payload["facts"]["visit_date"],
                        "arrival_time": payload["facts"]["arrival_time"],
                        "receipt_total": "12", "overall_comment": "ok"}
    temp = next(i for i in visit.questionnaire.items if i.code == "qa_fridge_temp")
    payload["answers"][str(temp.id)]["value"] = "3.5"
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.receipt_total is None and stored.visit_type_confirmed is None
    assert next(a for a in stored.answers if a.item_id == temp.id).score == 100.0


def test_the_qa_fridge_temperature_out_of_range_needs_a_photo(client, auth, chain):
    visit = make_assignment(chain, kind="qa", shopper=chain.qa)
    auth.login("qa@example.com")
    temp = next(i for i in visit.questionnaire.items if i.code == "qa_fridge_temp")
    payload = full_payload(visit)
    payload["answers"][str(temp.id)]["value"] = "8"
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert r.status_code == 422 and "needs a photo" in r.get_json()["errors"][f"item-{temp.id}"]
    assert scoring.is_failed("number", 8, lo=0, hi=5)
