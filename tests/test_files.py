"""Photos are served only to those who may see their visit."""

from __future__ import annotations

from auditapp import storage
from auditapp.extensions import db
from auditapp.models import Photo
from auditapp.models.visit import SUBMITTED

from .factories import make_visit


def _photo(visit) -> Photo:
    key = storage.new_key("photos", ".jpg")
    storage.save(key, b"\xff\xd8\xff fake jpeg")
    photo = Photo(visit=visit, storage_key=key, category="receipt")
    db.session.add(photo)
    db.session.commit()
    return photo


def _status(client, url: str) -> int:
    with client.get(url) as response:  # close the streamed file
        return response.status_code


def test_photo_access(client, auth, chain):
    released = make_visit(chain, chain.stores[0])
    pending = make_visit(chain, chain.stores[0], status=SUBMITTED)
    p1, p2 = _photo(released), _photo(pending)
    assert _status(client, f"/files/photos/{p1.id}") == 302  # log in first
    auth.login("m.e001@example.com")
    assert _status(client, f"/files/photos/{p1.id}") == 200
    assert _status(client, f"/files/photos/{p2.id}") == 404  # not released yet
    auth.logout()
    auth.login("m.e002@example.com")  # another store's manager
    assert _status(client, f"/files/photos/{p1.id}") == 404
    auth.logout()
    auth.login("MS-102")  # another shopper
    assert _status(client, f"/files/photos/{p1.id}") == 404
    auth.logout()
    auth.login("MS-101")  # the visit's own shopper
    assert _status(client, f"/files/photos/{p2.id}") == 200
    auth.logout()
    auth.login("hq@example.com")
    assert _status(client, f"/files/photos/{p2.id}") == 200
    assert _status(client, "/files/photos/9999") == 404


def test_openapi_is_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/health" in spec["paths"]
