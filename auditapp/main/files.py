"""Serving stored photos, only to people allowed to see their visit."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user, login_required

from .. import storage
from ..extensions import db
from ..models import Photo
from ..permissions import can_see_visit
from . import bp


@bp.route("/files/photos/<int:photo_id>")
@login_required
def photo(photo_id: int):
    """A visit photo (``?thumb=1`` for its thumbnail). 404 for anyone not allowed to see it."""
    item = db.session.get(Photo, photo_id)
    if item is None or not can_see_visit(current_user, item.visit):
        abort(404)
    return photo_response(item)


def photo_response(item: Photo):
    """The photo file, or its thumbnail with ``?thumb=1`` (access already checked)."""
    key = item.thumb_key if request.args.get("thumb") and item.thumb_key else item.storage_key
    return storage.send(key, item.content_type)
