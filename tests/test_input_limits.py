"""Cheap requests cannot buy expensive work, and bad input gets a clear 4xx: image
dimensions are judged from the header before any pixel is decoded, photos are capped per
request and per visit, JSON bodies are bounded in size and depth, text that cannot be
stored (NUL, lone surrogates) or is too long is refused per field (never cut, never a 500
with "nothing was lost"), and drafts are checked before they replace the previous one."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from PIL import Image, ImageFile
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from auditapp.extensions import db
from auditapp.models import Complaint, Photo, Visit
from auditapp.models.followup import Dispute

from .manager_helpers import answer, file_dispute, released_visit
from .shopper_helpers import full_payload, jpeg_bytes, make_assignment


@pytest.fixture
def visit(client, auth, chain) -> Visit:
    visit = make_assignment(chain)
    auth.login("MS-101")
    return visit


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[int, int]]:
    """The size of every image Pillow decodes during the test."""
    sizes: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self):
        sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


def png(size: tuple[int, int], mode: str = "1") -> bytes:
    out = BytesIO()
    Image.new(mode, size).save(out, "PNG")  # a few KB however many pixels
    return out.getvalue()


def multipart(client, url: str, fields: dict):
    # (the body is built in memory: werkzeug's test client would spool a large one to a
    # temporary file it never closes)
    data = MultiDict()
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.add(name, FileStorage(BytesIO(one[0]), one[1]) if isinstance(one, tuple)
                     else one)
    boundary, body = encode_multipart(data)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, visit: Visit, data: bytes, name: str = "photo.png"):
    return multipart(client, f"/api/shopper/visits/{visit.id}/photos", {"photo": (data, name)})


def post_form(client, visit: Visit, fields: dict):
    return multipart(client, f"/shopper/visits/{visit.id}", fields)


def photo_count(visit: Visit) -> int:
    return db.session.scalar(db.select(db.func.count(Photo.id))
                             .where(Photo.visit_id == visit.id))


def post_json(client, visit: Visit, what: str, body: str | bytes, method: str = "POST"):
    return client.open(f"/api/shopper/visits/{visit.id}/{what}", method=method, data=body,
                       content_type="application/json")


# --- images: judged from the header ---------------------------------------------------------


def test_a_7000_square_png_is_refused_from_its_header_without_decoding(client, visit, decoded):
    bomb = png((7000, 7000))  # 49 Mpx: ~400 MB once decoded and converted
    r = upload(client, visit, bomb)
    assert r.status_code == 400
    assert "too many pixels (7000 × 7000)" in r.json["errors"]["photo"]
    assert "16 megapixels" in r.json["errors"]["photo"]
    assert decoded == []  # not one pixel was decoded
    # the form without JavaScript says the same and keeps what was typed
    r = post_form(client, visit, {"action": "draft", "overall_comment": "typed before the photo",
                                  "photos": (bomb, "big.png")})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "too many pixels (7000 × 7000)" in page and "typed before the photo" in page
    assert decoded == [] and photo_count(visit) == 0


def test_larger_images_are_stopped_by_pillows_decompression_bomb_check(
        client, visit, decoded, monkeypatch):
    raised: list[type] = []
    original = Image._decompression_bomb_check

    def check(size):
        try:
            original(size)
        except Exception as exc:  # the Warning is turned into an error by the upload
            raised.append(type(exc))
            raise

    monkeypatch.setattr(Image, "_decompression_bomb_check", check)
    r = upload(client, visit, png((8000, 8000)))  # 64 Mpx: over the 50 MP limit
    assert r.status_code == 400
    assert "too many pixels to be a photo: at most 50 megapixels" in r.json["errors"]["photo"]
    assert raised == [Image.DecompressionBombWarning] and decoded == []


def test_a_large_camera_jpeg_is_decoded_at_a_reduced_scale(client, visit, decoded):
    out = BytesIO()
    Image.new("L", (8000, 6000), 128).save(out, "JPEG")  # a 48 MP camera's full size
    r = upload(client, visit, out.getvalue(), "camera.jpg")
    assert r.status_code == 201, r.json
    assert (r.json["width"], r.json["height"]) == (1600, 1200)
    # decoded at 1/4 scale (2000 × 1500), never at 8000 × 6000
    assert decoded and max(w * h for w, h in decoded) <= 2000 * 1500


# --- photos per request and per visit -------------------------------------------------------


def test_31_photos_in_one_form_post_are_refused_before_any_is_read(client, visit, decoded):
    photos = [(jpeg_bytes(), f"p{n}.jpg") for n in range(31)]
    r = post_form(client, visit, {"action": "draft", "order_description": "Two burgers",
                                  "photos": photos})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "You sent 31 photos at once; at most 10 can be sent together" in page
    assert "Two burgers" in page
    assert decoded == [] and photo_count(visit) == 0
    # ten are fine
    r = post_form(client, visit, {
        "action": "draft", "photos": [(jpeg_bytes(), f"p{n}.jpg") for n in range(10)]})
    assert r.status_code == 302 and photo_count(visit) == 10


def test_a_visit_has_at_most_the_configured_number_of_photos(app, client, visit):
    app.config["PHOTOS_PER_VISIT"] = 3
    for _ in range(3):
        assert upload(client, visit, jpeg_bytes(), "p.jpg").status_code == 201
    r = upload(client, visit, jpeg_bytes(), "p.jpg")
    assert r.status_code == 400
    assert "already has 3 photos, the most a visit may have (3)" in r.json["errors"]["photo"]
    assert photo_count(visit) == 3


# --- JSON bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [25, 100_000])
def test_deeply_nested_json_is_refused_with_400(client, visit, levels):
    body = '{"answers": ' + "[" * levels + "]" * levels + "}"
    for what in ("submit", "draft"):
        r = post_json(client, visit, what, body)
        assert r.status_code == 400, (what, r.status_code)
        assert "nested too deeply (more than 20 levels)" in r.json["message"]
        assert "Nothing you sent was lost" not in r.get_data(as_text=True)


@pytest.mark.parametrize("bad,problem", [("\x00", "NUL character"),
                                         ("\ud800", "invalid character")])
def test_nul_or_lone_surrogate_in_a_submission_is_a_clear_400(client, visit, bad, problem):
    payload = full_payload(visit)
    item = next(iter(payload["answers"]))
    payload["answers"][item]["comment"] = f"good{bad}bad"
    body = json.dumps(payload)  # ASCII escapes: \u0000, \ud800
    r = post_json(client, visit, "submit", body)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert problem in r.json["message"] and f"answers.{item}.comment" in r.json["message"]
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "assigned"
    # the same answer without the bad character goes through
    payload["answers"][item]["comment"] = "goodbad"
    assert post_json(client, visit, "submit", json.dumps(payload)).status_code == 200


def test_a_json_body_over_the_limit_gets_413_and_the_draft_is_kept(app, client, visit):
    payload = full_payload(visit)
    assert post_json(client, visit, "draft", json.dumps(payload), "PUT").status_code == 200
    app.config["API_MAX_JSON_BYTES"] = 4096
    payload["facts"]["overall_comment"] = "x" * 5000
    r = post_json(client, visit, "draft", json.dumps(payload), "PUT")
    assert r.status_code == 413 and "at most 4 KB of JSON" in r.json["message"]
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).draft["facts"]["overall_comment"] == "Fine"


# --- drafts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("change,key,message", [
    (lambda p: p["answers"].update({"999999": {"value": 1}}), "answers.999999",
     "no such question"),
    (lambda p: p["facts"].update({"order_description": [["x"] * 10] * 10}),
     "order_description", "must be text"),
    (lambda p: p.update({"answers": ["x"] * 100}), "answers", "must be an object"),
    (lambda p: p["facts"].update({"overall_comment": "y" * 4001}), "overall_comment",
     "4001 characters long; at most 4000"),
])
def test_a_draft_of_the_wrong_shape_is_refused_and_the_previous_one_kept(
        client, visit, change, key, message):
    payload = full_payload(visit)
    assert post_json(client, visit, "draft", json.dumps(payload), "PUT").status_code == 200
    change(payload)
    r = post_json(client, visit, "draft", json.dumps(payload), "PUT")
    assert r.status_code == 400, r.json
    assert message in r.json["errors"][key]
    db.session.expire_all()
    draft = db.session.get(Visit, visit.id).draft
    assert draft["facts"]["overall_comment"] == "Fine" and "999999" not in draft["answers"]


# --- long and unstorable text: refused per field, never cut ---------------------------------


def test_a_5000_character_comment_is_refused_and_kept_in_the_form(client, visit):
    item = visit.questionnaire.items[0]
    long_comment = "The fries were cold. " * 238 + "END"  # 5001 characters
    p = full_payload(visit)
    data = {"action": "submit", "client_submission_id": "long-1",
            "visit_date": p["facts"]["visit_date"], "arrival_time": "00:00",
            "visit_type_confirmed": "1", "receipt_total": "20",
            "overall_comment": "o" * 4001}
    for key, a in p["answers"].items():
        data[f"v_{key}"] = str(a["value"])
    data[f"c_{item.id}"] = long_comment
    r = client.post(f"/shopper/visits/{visit.id}", data=data)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Comment: This text is 5001 characters long; at most 4000 are allowed" in page
    assert "This text is 4001 characters long" in page
    assert long_comment in page and "o" * 4001 in page  # all of it, not cut
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status != "submitted"
    # the API answers the same per field
    api = full_payload(visit)
    api["answers"][str(item.id)]["comment"] = long_comment
    r = post_json(client, visit, "submit", json.dumps(api))
    assert r.status_code == 422
    assert "5001 characters long" in r.json["errors"][f"item-{item.id}"]
    # exactly 4000 is fine and stored whole
    api["answers"][str(item.id)]["comment"] = "z" * 4000
    assert post_json(client, visit, "submit", json.dumps(api)).status_code == 200
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert [a.comment for a in stored.answers if a.item_id == item.id] == ["z" * 4000]


def test_nul_in_a_form_field_is_refused_per_field(client, visit):
    r = client.post(f"/shopper/visits/{visit.id}", data={
        "action": "draft", "order_description": "Burger\x00meal"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "NUL character" in page and 'id="f-order_description"' in page
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).draft is None


def test_fractional_seconds_are_refused_not_rounded(client, visit):
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    payload = full_payload(visit)
    payload["answers"][str(timed.id)]["value"] = 249.5
    r = post_json(client, visit, "submit", json.dumps(payload))
    assert r.status_code == 422
    assert "whole seconds" in r.json["errors"][f"item-{timed.id}"]
    payload["answers"][str(timed.id)]["value"] = 250
    assert post_json(client, visit, "submit", json.dumps(payload)).status_code == 200


def test_complaint_and_dispute_text_that_cannot_be_stored_is_refused_per_field(
        client, auth, chain):
    """Free text outside the audit form: refused with the field's message, kept in the
    form, nothing stored (PostgreSQL cannot store a NUL; it used to answer 500)."""
    store = chain.stores[0]
    auth.login("hq@example.com")
    r = client.post("/hq/complaints/new", data={
        "store_id": store.id, "received_at": "2026-05-10T09:30", "channel": "phone",
        "severity": "major", "category": "courtesy", "description": "Rude\x00crew typed"})
    assert r.status_code in (200, 400)
    page = r.get_data(as_text=True)
    assert "NUL character" in page and "crew typed" in page
    assert db.session.scalar(db.select(db.func.count(Complaint.id))) == 0
    auth.logout()

    visit = released_visit(chain)
    auth.login("m.e001@example.com")
    r = file_dispute(client, visit, answer(visit, "clean_restroom"),
                     reason="The restroom\x00 was stocked at noon.")
    assert r.status_code in (200, 400)
    page = r.get_data(as_text=True)
    assert "NUL character" in page and "was stocked at noon." in page
    assert db.session.scalar(db.select(db.func.count(Dispute.id))) == 0


@pytest.mark.parametrize("number,problem", [("NaN", "NaN is not a JSON number"),
                                            ("Infinity", "Infinity is not a JSON number"),
                                            ("1e999", "The number 1e999 is too large")])
def test_numbers_json_cannot_hold_are_refused(client, visit, number, problem):
    item = visit.questionnaire.items[0]
    body = f'{{"answers": {{"{item.id}": {{"value": {number}}}}}}}'
    for what, method in (("draft", "PUT"), ("submit", "POST")):
        r = post_json(client, visit, what, body, method)
        assert r.status_code == 400 and problem in r.json["message"], (what, r.json)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).draft is None
