"""Photos carry nothing about their author (#15 item 7): an upload whose every metadata
container (EXIF, XMP, IPTC, ICC profile, JPEG comment, PNG/WebP text) holds the shopper's
name comes out with none of it — the served photo, its thumbnail, the visit PDF that
embeds it and a manager's dispute evidence."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from PIL import Image, PngImagePlugin

from auditapp import photos, storage
from auditapp.extensions import db
from auditapp.models import Photo
from auditapp.models.followup import Dispute
from auditapp.models.visit import IN_PROGRESS, RELEASED

from .manager_helpers import answer, file_dispute, released_visit
from .shopper_helpers import make_assignment

NAME = "Alice Shopper"
MAIL = "alice@example.com"
TAG = f"{NAME} <{MAIL}>"
#: What Pillow reads from each container, by key of ``Image.info``.
METADATA_KEYS = {"comment", "exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "photoshop",
                 "Author", "Description", "Comment"}


def xmp() -> bytes:
    return (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            f'02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"'
            f'><dc:creator>{TAG}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>').encode()


def icc() -> bytes:
    """An (unvalidated) ICC profile whose description names the shopper."""
    desc = TAG.encode()
    tag = b"desc" + struct.pack(">I", len(desc) + 1) + desc + b"\0"
    return struct.pack(">I", 128 + len(tag)) + b"\0" * 124 + tag


def exif() -> Image.Exif:
    data = Image.Exif()
    data[0x013B] = TAG  # Artist
    data[0x8298] = TAG  # Copyright
    return data


def iptc_segment() -> bytes:
    """A JPEG APP13 (Photoshop/IPTC) segment with the by-line (2:80) set to the name."""
    record = b"\x1c\x02\x50" + struct.pack(">H", len(TAG)) + TAG.encode()
    block = b"8BIM" + b"\x04\x04" + b"\0\0" + struct.pack(">I", len(record)) + record
    body = b"Photoshop 3.0\0" + block
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def tagged(fmt: str, size: tuple[int, int] = (400, 300)) -> bytes:
    img = Image.new("RGB", size, (40, 120, 200))
    out = BytesIO()
    if fmt == "JPEG":
        img.save(out, "JPEG", comment=TAG.encode(), exif=exif(), xmp=xmp(), icc_profile=icc())
        data = out.getvalue()
        return data[:2] + iptc_segment() + data[2:]
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", TAG)
        info.add_text("Comment", TAG, zip=True)
        info.add_itxt("Description", TAG)
        info.add_itxt("XML:com.adobe.xmp", xmp().decode())
        img.save(out, "PNG", pnginfo=info, exif=exif(), icc_profile=icc())
        return out.getvalue()
    img.save(out, "WEBP", exif=exif(), xmp=xmp(), icc_profile=icc())
    return out.getvalue()


def assert_clean(data: bytes) -> None:
    assert NAME.encode() not in data and MAIL.encode() not in data
    with Image.open(BytesIO(data)) as img:
        assert not METADATA_KEYS & set(img.info), img.info.keys()
        assert not img.getexif()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_upload_really_carries_the_name(fmt):
    """(The fixture is honest: Pillow reads the name back from the upload.)"""
    with Image.open(BytesIO(tagged(fmt))) as img:
        found = {k for k in img.info if TAG in repr(img.info[k])}
        assert {"exif"} | ({"comment", "xmp", "photoshop"} if fmt == "JPEG" else set()) <= found
        assert TAG.encode() in img.info["icc_profile"]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_served_photo_and_thumbnail_carry_no_metadata(client, auth, chain, fmt):
    visit = make_assignment(chain)
    auth.login("MS-101")
    with client.post(f"/api/shopper/visits/{visit.id}/photos",
                     data={"photo": (BytesIO(tagged(fmt)), "me.img")}) as r:
        assert r.status_code == 201, r.json
        urls = r.json["url"], r.json["thumb_url"]
    for url in urls:
        with client.get(url) as served:
            assert served.status_code == 200
            assert_clean(served.get_data())


@pytest.mark.parametrize("fmt,name", [("JPEG", "proof.jpg"), ("PNG", "proof.png"),
                                      ("WEBP", "proof.webp")])
def test_dispute_evidence_carries_no_metadata(client, auth, chain, fmt, name):
    visit = released_visit(chain)
    auth.login("m.e001@example.com")
    with file_dispute(client, visit, answer(visit, "clean_restroom"), evidence=tagged(fmt),
                      filename=name) as r:
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
    dispute = db.session.scalars(db.select(Dispute)).one()
    with client.get(f"/manager/disputes/{dispute.id}/evidence/0") as served:
        assert served.status_code == 200
        assert_clean(served.get_data())


def test_the_visit_pdf_embeds_the_clean_photo(app, client, auth, chain):
    visit = released_visit(chain, status=IN_PROGRESS)
    # the upload path of every form (HTML, API, QA), while the visit is still open
    photo = photos.add_photo(visit, tagged("JPEG", (1200, 900)), "food")
    visit.status = RELEASED
    db.session.commit()
    assert db.session.get(Photo, photo.id) is not None
    auth.login("m.e001@example.com")
    with client.get(f"/manager/reports/visits/{visit.id}.pdf") as r:
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        data = r.get_data()
    assert NAME.encode() not in data and MAIL.encode() not in data
    assert b"/DCTDecode" in data or b"/Image" in data  # the photo is in it


def test_images_stored_before_the_fix_are_cleaned_by_the_cli(app, runner, chain):
    """``flask strip-photo-metadata`` cleans files uploaded before metadata was stripped:
    a JPEG losslessly (the same pixels), other formats from their pixels."""
    visit = released_visit(chain)
    old_jpeg, old_png = tagged("JPEG"), tagged("PNG")
    photo = Photo(visit=visit, storage_key=storage.save(storage.new_key("photos", ".jpg"),
                                                        old_jpeg),
                  thumb_key=storage.save(storage.new_key("photos/thumbs", ".jpg"), old_jpeg),
                  content_type="image/jpeg", category="food")
    db.session.add(photo)
    evidence_key = storage.save(storage.new_key("evidence", ".png"), old_png)
    db.session.add(Dispute(visit_id=visit.id, answer_id=answer(visit, "clean_restroom").id,
                           reason="Stocked at noon, see photo.", evidence_keys=[evidence_key]))
    db.session.commit()

    result = runner.invoke(args=["strip-photo-metadata"])
    assert result.exit_code == 0, result.output
    assert "Removed metadata from 3 of 3 stored images." in result.output
    for key in (photo.storage_key, photo.thumb_key, evidence_key):
        assert_clean(storage.load(key))
    with Image.open(BytesIO(old_jpeg)) as before, \
            Image.open(BytesIO(storage.load(photo.storage_key))) as after:
        assert before.tobytes() == after.tobytes()
    again = runner.invoke(args=["strip-photo-metadata"])
    assert "Removed metadata from 0 of 3 stored images." in again.output
