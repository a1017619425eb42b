"""What arrives from a phone's outbox (issue #19): the shopper's form queues drafts, photos,
photo removals, the check-in and the submission while offline and sends them later, each
with ``X-Queued-At`` (the phone's time when it was queued). The server records when each
arrived (a ``queued`` paradata event: ``server_at`` the arrival, ``client_at`` the phone's
time), and keeps an "opened" the form sent when it was opened from the phone's copy.
Services only: the views commit."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import select

from . import integrity, photos, visit_states
from .extensions import db
from .models import Photo, Visit, VisitEvent
from .models.integrity import OPENED
from .params import MAX_ID

#: The paradata event of a queued item's arrival.
QUEUED = "queued"
#: What a queued item may be (``data["what"]`` of its event).
QUEUED_WHAT = ("checkin", "draft", "photo", "photo_delete", "submit")


def queued_at():
    """The phone's time the request says it was queued at (naive UTC), or None: sent
    straight away, or an unreadable header."""
    return integrity._client_time(request.headers.get("X-Queued-At"))


def record_arrival(visit_id: int, what: str, **data: Any) -> VisitEvent | None:
    """Record that a queued ``what`` arrived now, if the request came from the outbox."""
    at = queued_at()
    if at is None or what not in QUEUED_WHAT:
        return None
    return integrity.record(visit_id, QUEUED, client_at=at, data={"what": what, **data})


def take_opened(visit: Visit, raw: Any) -> tuple[Any, int]:
    """Keep the first "opened" event the form sent (opened offline from the phone's copy,
    with the phone's time) unless the server saw the opening itself; returns the other
    events (for ``integrity.record_client_events``) and how many were kept here."""
    if not isinstance(raw, list):
        return raw, 0
    opened = [e for e in raw if isinstance(e, dict) and e.get("kind") == OPENED]
    rest = [e for e in raw if not (isinstance(e, dict) and e.get("kind") == OPENED)]
    if not opened:
        return raw, 0
    at = integrity._client_time(opened[0].get("at"))
    if at is None:
        raise integrity.EventError(_("The events were not recorded: some need a correction."),
                                   {"events.0": _("Each event needs the phone's time as an "
                                                  "ISO date and time.")})
    seen = db.session.scalar(select(VisitEvent.id).where(
        VisitEvent.visit_id == visit.id, VisitEvent.kind == OPENED).limit(1))
    if seen is not None:
        return rest, 0
    integrity.record(visit.id, OPENED, client_at=at, data={"offline": True})
    return rest, 1


class NoSuchPhoto(LookupError):
    """The photo is not (or no longer) one of the visit's."""


def remove_photo(visit: Visit, photo_id: int) -> None:
    """Remove one of the visit's photos before the report is sent: under the visit's row
    lock, while photos may still be added (else ``TransitionError``)."""
    visit_states.move(visit_states.lock(visit.id), visit_states.ADD_PHOTO)
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.visit_id != visit.id:
        raise NoSuchPhoto(photo_id)
    photos.delete_photo(photo)


def missing_photos(visit: Visit, raw: Any) -> list[int]:
    """Of the photo ids a submission says it comes with, those the visit does not have (yet):
    the phone sends the report only after its photos, and the server checks it."""
    if not isinstance(raw, list):
        return []
    wanted = {x for x in raw if isinstance(x, int) and not isinstance(x, bool)}
    if not wanted:
        return []
    storable = {x for x in wanted if 1 <= x <= MAX_ID}  # any other id names no photo
    have = set(db.session.scalars(select(Photo.id).where(
        Photo.visit_id == visit.id, Photo.id.in_(storable)))) if storable else set()
    return sorted(wanted - have)
