"""The server side of the offline field app (issue #19), through HTTP: removing a photo
before the report is sent, a report that waits for its photos, when queued items arrived,
the service worker's fetch-ahead that is no opening, the manifest and gzip."""

from __future__ import annotations

import gzip
from io import BytesIO

from sqlalchemy import func, select

from auditapp import storage
from auditapp.extensions import db
from auditapp.models import AuditLog, Photo, Visit, VisitEvent

from .shopper_helpers import full_payload, jpeg_bytes, make_assignment

QUEUED_AT = "2026-01-02T03:04:05.000Z"


def api(visit) -> str:
    return f"/api/shopper/visits/{visit.id}"


def bearer(visit, **extra) -> dict:
    return {"Authorization": f"Bearer {visit.access_token}", **extra}


def upload(client, visit, **headers):
    return client.post(f"{api(visit)}/photos", headers=bearer(visit, **headers),
                       data={"photo": (BytesIO(jpeg_bytes()), "p.jpg"), "category": "food"})


def events(visit_id: int, kind: str) -> list[VisitEvent]:
    return list(db.session.scalars(select(VisitEvent).where(
        VisitEvent.visit_id == visit_id, VisitEvent.kind == kind).order_by(VisitEvent.id)))


def test_a_photo_can_be_removed_until_the_report_is_sent(client, chain):
    visit, other = make_assignment(chain), make_assignment(chain, store=chain.stores[1])
    first, second = upload(client, visit).json, upload(client, visit).json
    theirs = upload(client, other).json
    stored = db.session.get(Photo, first["id"])
    keys = (stored.storage_key, stored.thumb_key)

    gone = client.delete(f"{api(visit)}/photos/{first['id']}", headers=bearer(visit))
    assert gone.status_code == 200 and gone.json == {"removed": first["id"]}
    db.session.expire_all()
    assert db.session.get(Photo, first["id"]) is None
    assert not any(storage.exists(k) for k in keys)
    again = client.delete(f"{api(visit)}/photos/{first['id']}", headers=bearer(visit))
    assert again.status_code == 404 and again.json["code"] == "no_photo"
    # another visit's photo is not this link's to remove
    assert client.delete(f"{api(visit)}/photos/{theirs['id']}",
                         headers=bearer(visit)).status_code == 404
    assert db.session.get(Photo, theirs["id"]) is not None

    payload = full_payload(visit)
    payload["photo_ids"] = [second["id"]]
    assert client.post(f"{api(visit)}/submit", headers=bearer(visit),
                       json=payload).status_code == 200
    late = client.delete(f"{api(visit)}/photos/{second['id']}", headers=bearer(visit))
    assert late.status_code == 409 and late.json["code"] == "already_submitted"
    db.session.expire_all()
    assert [p.id for p in db.session.get(Visit, visit.id).photos] == [second["id"]]


def test_a_report_waits_for_the_photos_it_comes_with(client, chain):
    visit = make_assignment(chain)
    photo = upload(client, visit).json
    payload = full_payload(visit, client_id="c-photos")
    payload["photo_ids"] = [photo["id"], photo["id"] + 1000]  # one still on the phone
    early = client.post(f"{api(visit)}/submit", headers=bearer(visit), json=payload)
    assert early.status_code == 409 and early.json["code"] == "photos_missing"
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "assigned"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.entity == "visit", AuditLog.action == "submit")) == 0

    arrived = upload(client, visit).json
    payload["photo_ids"] = [photo["id"], arrived["id"]]
    ok = client.post(f"{api(visit)}/submit", headers=bearer(visit), json=payload)
    assert ok.status_code == 200 and ok.json["duplicate"] is False
    # the same report sent again (its answer was lost): the first result, not a refusal
    again = client.post(f"{api(visit)}/submit", headers=bearer(visit), json=payload)
    assert again.status_code == 200 and again.json["duplicate"] is True
    db.session.expire_all()
    assert len(db.session.get(Visit, visit.id).photos) == 2


def test_the_server_records_when_each_queued_item_arrived(client, chain):
    visit = make_assignment(chain)
    queued = {"X-Queued-At": QUEUED_AT}
    assert client.post(f"{api(visit)}/checkin", headers=bearer(visit, **queued),
                       json={"consent": False}).status_code == 200
    draft = full_payload(visit)
    assert client.put(f"{api(visit)}/draft", headers=bearer(visit, **queued),
                      json=draft).status_code == 200
    assert client.put(f"{api(visit)}/draft", headers=bearer(visit),
                      json=draft).status_code == 200  # autosave online: nothing queued
    photo = upload(client, visit, **queued).json
    assert client.post(f"{api(visit)}/submit", headers=bearer(visit, **queued),
                       json=full_payload(visit)).status_code == 200
    db.session.expire_all()
    arrivals = events(visit.id, "queued")
    assert [e.data["what"] for e in arrivals] == ["checkin", "draft", "photo", "submit"]
    assert arrivals[2].data["photo_id"] == photo["id"]
    assert all(e.client_at.isoformat() == "2026-01-02T03:04:05" for e in arrivals)
    assert all(e.server_at > e.client_at for e in arrivals)


def test_an_unreadable_queued_time_is_ignored(client, chain):
    visit = make_assignment(chain)
    assert upload(client, visit, **{"X-Queued-At": "yesterday"}).status_code == 201
    assert events(visit.id, "queued") == []


def test_fetching_ahead_is_no_opening_and_an_offline_opening_is_kept(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    ahead = client.get(f"/shopper/visits/{visit.id}", headers={"X-Precache": "1"})
    assert ahead.status_code == 200 and b"data-sw=" in ahead.data
    assert events(visit.id, "opened") == []
    # opened from the phone's copy: the form says when, once online
    sent = client.post(f"{api(visit)}/events", json={"events": [
        {"kind": "opened", "at": "2026-01-02T08:00:00+08:00"},
        {"kind": "step", "step": 0, "seconds": 4.5, "at": "2026-01-02T08:00:05+08:00"}]})
    assert sent.status_code == 200 and sent.json == {"recorded": 2}
    db.session.expire_all()
    [opened] = events(visit.id, "opened")
    assert opened.client_at.isoformat() == "2026-01-02T00:00:00" and opened.data["offline"]
    # a second opening (or one the server saw) is not kept twice
    client.post(f"{api(visit)}/events", json={"events": [
        {"kind": "opened", "at": "2026-01-03T08:00:00+08:00"}]})
    client.get(f"/shopper/visits/{visit.id}")
    db.session.expire_all()
    assert len(events(visit.id, "opened")) == 1
    bad = client.post(f"{api(visit)}/events", json={"events": [{"kind": "opened", "at": 5}]})
    assert bad.status_code == 400


def test_manifest_makes_the_app_installable(client, auth, chain):
    auth.login("MS-101")
    page = client.get("/shopper/")
    assert b'rel="manifest"' in page.data and b"js/offline.js" in page.data
    res = client.get("/shopper/manifest.webmanifest")
    assert res.status_code == 200 and res.mimetype == "application/manifest+json"
    manifest = res.json
    assert manifest["start_url"] == "/shopper/" and manifest["display"] == "standalone"
    sizes = {i["sizes"] for i in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as got:
            assert got.status_code == 200
    # pages of other roles do not carry it
    auth.logout()
    auth.login("hq@example.com")
    assert b'rel="manifest"' not in client.get("/hq/").data


def get(client, url, **headers):
    with client.get(url, headers=headers) as res:
        return res.status_code, res.headers, res.get_data()


def test_text_is_sent_gzipped_to_a_browser_that_accepts_it(client, auth, chain):
    _, headers, plain = get(client, "/static/js/shopper.js")
    assert "Content-Encoding" not in headers
    _, headers, packed = get(client, "/static/js/shopper.js", **{"Accept-Encoding": "gzip, br"})
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(packed) == plain
    assert len(packed) < len(plain) / 2
    again = get(client, "/static/js/shopper.js", **{"Accept-Encoding": "gzip"})[2]
    assert again == packed  # (compressed once per version)
    _, headers, _ = get(client, "/static/js/shopper.js", **{"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in headers
    auth.login("MS-101")
    page = client.get("/shopper/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "My assignments" in gzip.decompress(page.data).decode()
    _, headers, _ = get(client, "/static/icons/icon-512.png", **{"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in headers
