"""Visit photos: check that an upload really is an image, strip its metadata, shrink it
and make a thumbnail, then store both through ``auditapp.storage`` under random keys."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from . import storage, visit_states
from .extensions import db
from .models import Photo, Visit

#: Formats a phone camera or gallery produces that Pillow can read.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF"}
#: Refuse anything with more pixels than this before decoding it (decompression bombs).
MAX_PIXELS = 50_000_000
CATEGORIES = ("receipt", "food", "premises", "other")


class PhotoError(ValueError):
    """An upload we refuse; the message is for the user."""


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes
    thumb: bytes
    width: int
    height: int


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = BytesIO()
    # No exif= argument: the stored copy carries no metadata (no GPS, no device).
    img.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def process(data: bytes, max_bytes: int | None = None) -> ProcessedPhoto:
    """Validate ``data`` as an image and return the stored JPEG and its thumbnail."""
    limit = max_bytes if max_bytes is not None else current_app.config["MAX_PHOTO_BYTES"]
    if not data:
        raise PhotoError(_("The file is empty. Please take or choose the photo again."))
    if len(data) > limit:
        raise PhotoError(
            _("The photo is too large (%(size)s MB); the limit is %(limit)s MB.",
              size=f"{len(data) / 1048576:.1f}", limit=f"{limit / 1048576:.0f}")
        )
    not_image = _("This file is not a photo we can read. Please upload a JPEG, PNG or WebP image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise PhotoError(not_image)
                if probe.width * probe.height > MAX_PIXELS:
                    raise PhotoError(_("The image has too many pixels to be a photo."))
                probe.verify()
            with Image.open(BytesIO(data)) as opened:
                opened.seek(0)
                img = ImageOps.exif_transpose(opened)
                img.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoError(not_image) from exc
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, "white")
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    elif img.mode == "L":
        img = img.convert("RGB")
    side = current_app.config.get("PHOTO_MAX_SIDE", 1600)
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    thumb = img.copy()
    tside = current_app.config.get("PHOTO_THUMB_SIDE", 320)
    thumb.thumbnail((tside, tside), Image.Resampling.LANCZOS)
    return ProcessedPhoto(_jpeg(img, 82), _jpeg(thumb, 75), img.width, img.height)


def add_photo(visit: Visit, data: bytes, category: str = "other",
              item_id: int | None = None) -> Photo:
    """Process and store an upload as a new photo of ``visit`` (added to the session).
    The visit is locked first and must still be editable (else ``TransitionError``)."""
    done = process(data)
    visit_states.move(visit_states.lock(visit.id), visit_states.ADD_PHOTO)
    key = storage.save(storage.new_key("photos", ".jpg"), done.image)
    thumb_key = storage.save(storage.new_key("photos/thumbs", ".jpg"), done.thumb)
    photo = Photo(
        category=category if category in CATEGORIES else "other",
        item_id=item_id,
        storage_key=key,
        thumb_key=thumb_key,
        content_type="image/jpeg",
        width=done.width,
        height=done.height,
        size_bytes=len(done.image),
    )
    visit.photos.append(photo)
    db.session.add(photo)
    return photo


def delete_photo(photo: Photo) -> None:
    for key in (photo.storage_key, photo.thumb_key):
        if key:
            storage.delete(key)
    db.session.delete(photo)
