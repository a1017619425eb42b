"""Uploads are judged by their content, never by their name; what is stored is re-encoded
pixels under a random name outside the static tree; too-large requests get a clear 413.

(The basics — a PDF refused, the size limit per photo, a decompression bomb, EXIF stripped,
who may fetch a photo — are in test_shopper_api.py, test_files.py and test_disputes.py.)
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from auditapp.extensions import db
from auditapp.models import Photo, Visit
from auditapp.models.followup import Dispute

from .manager_helpers import answer, file_dispute, png_bytes, released_visit
from .shopper_helpers import make_assignment

SVG = b"""<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">
<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>"""
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
#: A real PNG with an HTML page glued on after its end: browsers that sniff would run it.
POLYGLOT = png_bytes("green", (32, 32)) + HTML
KEY = re.compile(r"^photos/[0-9a-f]{32}\.jpg$")


def upload(client, visit, data: bytes, filename: str):
    return client.post(f"/api/shopper/visits/{visit.id}/photos",
                       data={"photo": (BytesIO(data), filename), "category": "food"})


def stored(app, key: str) -> bytes:
    return (Path(app.config["UPLOAD_FOLDER"]) / key).read_bytes()


@pytest.fixture
def shopper_visit(client, auth, chain) -> Visit:
    visit = make_assignment(chain)
    auth.login("MS-101")
    return visit


def test_png_named_jpg_is_read_as_what_it_is(app, client, shopper_visit):
    r = upload(client, shopper_visit, png_bytes("red", (64, 48)), "holiday.jpg")
    assert r.status_code == 201, r.json
    photo = db.session.get(Photo, r.json["id"])
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (64, 48)
    assert stored(app, photo.storage_key)[:3] == b"\xff\xd8\xff"  # re-encoded as JPEG


@pytest.mark.parametrize("data,filename", [
    (SVG, "picture.jpg"), (SVG, "picture.svg"), (HTML, "receipt.jpg"), (HTML, "receipt.png"),
    (b"GIF89a" + HTML, "anim.gif"), (b"\xff\xd8\xff\xe0" + HTML, "truncated.jpg"),
])
def test_files_that_are_not_images_are_refused_whatever_their_name(
        client, shopper_visit, data, filename):
    r = upload(client, shopper_visit, data, filename)
    assert r.status_code == 400
    assert "not a photo we can read" in r.json["errors"]["photo"]
    db.session.expire_all()
    assert db.session.get(Visit, shopper_visit.id).photos == []


def test_polyglot_photo_is_stored_as_pixels_only(app, client, shopper_visit):
    r = upload(client, shopper_visit, POLYGLOT, "x.html")
    assert r.status_code == 201
    photo = db.session.get(Photo, r.json["id"])
    for key in (photo.storage_key, photo.thumb_key):
        data = stored(app, key)
        assert b"<script" not in data and b"<html" not in data
    with client.get(f"/files/photos/{photo.id}") as served:
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert b"<script" not in served.data


def test_polyglot_dispute_evidence_is_stored_as_pixels_only(app, client, auth, chain):
    visit = released_visit(chain)
    restroom = answer(visit, "clean_restroom")
    auth.login("m.e001@example.com")
    r = file_dispute(client, visit, restroom, evidence=POLYGLOT, filename="../../x.html")
    assert r.status_code == 302
    dispute = db.session.scalars(db.select(Dispute)).one()
    (key,) = dispute.evidence_keys
    assert re.fullmatch(r"evidence/[0-9a-f]{32}\.png", key)
    data = stored(app, key)
    assert data.startswith(b"\x89PNG") and b"<script" not in data
    with client.get(f"/manager/disputes/{dispute.id}/evidence/0") as served:
        assert served.mimetype == "image/png"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    # an SVG (XML with scripts) named .png is no evidence either
    r = file_dispute(client, visit, answer(visit, "courtesy_thanks"), evidence=SVG,
                     filename="proof.png")
    assert r.status_code == 400 and "not an image we can read" in r.get_data(as_text=True)


def test_stored_names_are_random_and_outside_the_static_tree(app, client, shopper_visit):
    names = ["../../static/evil.jpg", "/etc/passwd.jpg", "a b;rm -rf.jpg", "照片.jpg",
             "x" * 300 + ".jpg"]
    keys = []
    for name in names:
        r = upload(client, shopper_visit, png_bytes(), name)
        assert r.status_code == 201, (name, r.json)
        photo = db.session.get(Photo, r.json["id"])
        assert KEY.match(photo.storage_key), photo.storage_key
        assert "evil" not in photo.storage_key and "passwd" not in photo.storage_key
        keys.append(photo.storage_key)
    assert len(set(keys)) == len(keys)
    upload_root = Path(app.config["UPLOAD_FOLDER"]).resolve()
    static_root = Path(app.static_folder).resolve()
    assert static_root not in upload_root.parents and upload_root != static_root
    assert not list(static_root.rglob("evil*"))
    for key in keys:
        with client.get(f"/static/{key}") as r:  # not reachable as a static file
            assert r.status_code == 404


def test_too_large_request_gets_413_with_a_clear_message(app, client, shopper_visit):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    big = png_bytes() + b"\0" * (1024 * 1024 + 10)
    # (the multipart body is built in memory: werkzeug's test client would spool it to a
    # temporary file that the refused request never reads to the end)
    boundary, body = encode_multipart({"photo": FileStorage(BytesIO(big), "big.jpg")})
    ctype = f"multipart/form-data; boundary={boundary}"
    with client.post(f"/api/shopper/visits/{shopper_visit.id}/photos", data=body,
                     content_type=ctype) as r:
        assert r.status_code == 413
        assert "at most 1 MB" in r.json["message"]
    # the HTML form says the same on a page
    boundary, body = encode_multipart({"action": "draft",
                                       "photos": FileStorage(BytesIO(big), "big.jpg")})
    with client.post(f"/shopper/visits/{shopper_visit.id}", data=body,
                     content_type=f"multipart/form-data; boundary={boundary}") as r:
        assert r.status_code == 413
        assert "at most 1 MB" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, shopper_visit.id).photos == []


def test_decompression_bomb_in_dispute_evidence_is_refused(client, auth, chain):
    visit = released_visit(chain)
    out = BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # 81 Mpx in a few KB
    auth.login("m.e001@example.com")
    r = file_dispute(client, visit, answer(visit, "clean_restroom"), evidence=out.getvalue())
    assert r.status_code == 400 and "too many pixels" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Dispute.id))) == 0
