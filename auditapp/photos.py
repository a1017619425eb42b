"""Visit photos: check that an upload really is an image, strip its metadata, shrink it
and make a thumbnail, then store both through ``auditapp.storage`` under random keys."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import imagehash
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from . import storage, visit_states
from .extensions import db
from .models import Photo, PhotoMeta, Visit

#: Formats a phone camera or gallery produces that Pillow can read.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF"}
#: JPEG (what phone cameras write) is decoded at a reduced scale (``draft``), so a 50 MP
#: camera photo costs little memory. Pillow's own decompression-bomb check
#: (``Image.MAX_IMAGE_PIXELS``) refuses anything larger while reading the header.
MAX_PIXELS = 50_000_000
#: PNG, WebP and GIF are always decoded at full size (up to 4 bytes a pixel, and a copy
#: while shrinking): at most 16 MP (a 12 MP phone photo saved as PNG fits), checked from
#: the header before decoding. A worker then needs at most ~150 MB for one upload.
MAX_FULL_DECODE_PIXELS = 16_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
CATEGORIES = ("receipt", "food", "premises", "other")


class PhotoError(ValueError):
    """An upload we refuse; the message is for the user."""


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes
    thumb: bytes
    width: int
    height: int


def not_image_message() -> str:
    return _("This file is not a photo we can read. Please upload a JPEG, PNG or WebP image.")


def _too_many_pixels(width: int, height: int, limit: int) -> PhotoError:
    return PhotoError(_(
        "The image has too many pixels (%(width)s × %(height)s): a PNG, WebP or GIF may have "
        "at most %(mp)s megapixels. Please send a normal camera photo or a smaller image.",
        width=width, height=height, mp=limit // 1_000_000))


def open_image(data: bytes, formats: set[str] | dict, max_side: int) -> tuple[Image.Image, str]:
    """Decode an upload safely: its format and dimensions are read from the header and
    refused (``PhotoError``) before any pixel is decoded; a JPEG larger than ``max_side``
    is decoded at a reduced scale. Returns the upright image and its format; save it
    through ``pixels_only`` (its ``info`` still holds the upload's metadata)."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice the limit raises) in ``Image.open``, from the
            # header alone: a decompression bomb is refused before it is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as probe:
                fmt = probe.format or ""
                if fmt not in formats:
                    raise PhotoError(not_image_message())
                if fmt not in ("JPEG", "MPO") and \
                        probe.width * probe.height > MAX_FULL_DECODE_PIXELS:
                    raise _too_many_pixels(probe.width, probe.height, MAX_FULL_DECODE_PIXELS)
                probe.verify()
            with Image.open(BytesIO(data)) as opened:
                opened.seek(0)
                longest = max(opened.size)
                if fmt in ("JPEG", "MPO") and longest > max_side:
                    # the smallest scale (1/2, 1/4, 1/8) whose longest side is still
                    # at least max_side
                    opened.draft("RGB", (opened.width * max_side // longest,
                                         opened.height * max_side // longest))
                img = ImageOps.exif_transpose(opened)
                img.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(_(
            "The image has too many pixels to be a photo: at most %(mp)s megapixels. "
            "Please send a normal camera photo or a smaller image.",
            mp=MAX_PIXELS // 1_000_000)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoError(not_image_message()) from exc
    return img, fmt


def pixels_only(img: Image.Image) -> Image.Image:
    """A copy of ``img`` with its pixels and nothing else: Pillow carries ``info``
    (``comment``, ``icc_profile``, ``xmp``, ``exif``, PNG text…) through transposing,
    converting and resizing, and its writers save some of it (a JPEG's comment, an ICC
    profile and its description, XMP, EXIF, PNG/WebP text)."""
    clean = Image.new(img.mode, img.size)
    if img.mode == "P":
        clean.putpalette(img.getpalette() or [])
    clean.paste(img)
    if "transparency" in img.info:  # which palette entry is transparent: not metadata
        clean.info["transparency"] = img.info["transparency"]
    return clean


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = BytesIO()
    # Saved from a pixels-only image: the stored copy carries no metadata (no GPS, no
    # device, no name in a comment or a profile).
    pixels_only(img).save(out, "JPEG", quality=quality, optimize=True)
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
    side = current_app.config.get("PHOTO_MAX_SIDE", 1600)
    img, _fmt = open_image(data, ACCEPTED_FORMATS, side)
    if img.mode not in ("RGB", "L", "RGBA", "LA"):  # palette, 1-bit, CMYK, 16-bit
        img = img.convert("RGBA")
    img.thumbnail((side, side), Image.Resampling.LANCZOS)  # shrink first: small copies
    if img.mode in ("RGBA", "LA"):
        background = Image.new("RGB", img.size, "white")
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    elif img.mode == "L":
        img = img.convert("RGB")
    thumb = img.copy()
    tside = current_app.config.get("PHOTO_THUMB_SIDE", 320)
    thumb.thumbnail((tside, tside), Image.Resampling.LANCZOS)
    return ProcessedPhoto(_jpeg(img, 82), _jpeg(thumb, 75), img.width, img.height)


def photo_cap_error(count: int, limit: int) -> PhotoError:
    return PhotoError(_("This visit already has %(count)s photos, the most a visit may "
                        "have (%(n)s): no more can be added.", n=limit, count=count))


def check_request_photo_count(count: int) -> None:
    """Refuse a request carrying more photos than ``PHOTOS_PER_REQUEST``, before any is read."""
    limit = current_app.config["PHOTOS_PER_REQUEST"]
    if count > limit:
        raise PhotoError(_("You sent %(count)s photos at once; at most %(n)s can be sent "
                           "together. Please send them in smaller groups.",
                           count=count, n=limit))


def _check_photo_cap(visit: Visit) -> None:
    limit = current_app.config["PHOTOS_PER_VISIT"]
    count = db.session.scalar(select(func.count(Photo.id)).where(Photo.visit_id == visit.id)) or 0
    if count >= limit:
        raise photo_cap_error(count, limit)


def add_photo(visit: Visit, data: bytes, category: str = "other",
              item_id: int | None = None) -> Photo:
    """Process and store an upload as a new photo of ``visit`` (added to the session).
    The visit must still be editable (else ``TransitionError``), and is refused once it has
    ``PHOTOS_PER_VISIT`` photos: checked before the image is decoded, and again under the
    visit's row lock, so simultaneous uploads cannot pass the cap. ``item_id`` attaches
    the photo to one question of the visit's questionnaire (its evidence)."""
    from .visits import load_form  # visits → notifications → … would import this module

    if item_id is not None and item_id not in {
            item.id for item in load_form(visit.questionnaire_id).items}:
        raise PhotoError(_("There is no such question in this visit."))
    _check_photo_cap(visit)
    done = process(data)
    visit_states.move(visit_states.lock(visit.id), visit_states.ADD_PHOTO)
    _check_photo_cap(visit)
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
    # What the upload said about itself, read before it was stripped: for HQ only.
    db.session.add(PhotoMeta(photo=photo, phash=perceptual_hash(done.thumb),
                             **camera_metadata(data)))
    return photo


# --- what an upload says about itself (HQ only, see ``integrity``) ----------------------------

_MAKE, _MODEL, _DATETIME, _EXIF_IFD, _GPS_IFD, _TAKEN = 0x010F, 0x0110, 0x0132, 0x8769, \
    0x8825, 0x9003


def _exif_text(value: object) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value or "")
    return "".join(ch for ch in text if ch.isprintable()).strip()[:100]


def _exif_time(value: object) -> datetime | None:
    try:
        return datetime.strptime(_exif_text(value)[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _degrees(value: object, ref: object) -> float | None:
    try:
        d, m, s = (float(x) for x in value)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    x = d + m / 60 + s / 3600
    return -x if _exif_text(ref).upper() in ("S", "W") else x


def camera_metadata(data: bytes) -> dict:
    """Capture time, GPS position and camera of an upload, from its EXIF (as far as it has
    them): the fields of ``PhotoMeta``."""
    try:
        with Image.open(BytesIO(data)) as img:
            exif = img.getexif()
            sub, gps = exif.get_ifd(_EXIF_IFD), exif.get_ifd(_GPS_IFD)
    except (OSError, ValueError, SyntaxError, EOFError):
        return {}
    lat = _degrees(gps.get(2), gps.get(1)) if gps else None
    lon = _degrees(gps.get(4), gps.get(3)) if gps else None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return {"taken_at": _exif_time(sub.get(_TAKEN) or exif.get(_DATETIME)),
            "latitude": lat, "longitude": lon,
            "camera_make": _exif_text(exif.get(_MAKE)),
            "camera_model": _exif_text(exif.get(_MODEL))}


def perceptual_hash(jpeg: bytes) -> str:
    """The picture's 64-bit perceptual hash (16 hex digits): near-identical pictures
    (resized, recompressed, slightly cropped) differ in a few bits."""
    with Image.open(BytesIO(jpeg)) as img:
        return str(imagehash.phash(img))


def delete_photo(photo: Photo) -> None:
    for key in (photo.storage_key, photo.thumb_key):
        if key:
            storage.delete(key)
    db.session.delete(photo)


# --- files stored before metadata was stripped ----------------------------------------------

#: ``Image.info`` keys of metadata containers (PNG text chunks are in ``Image.text``).
METADATA_KEYS = frozenset({"comment", "exif", "xmp", "XML:com.adobe.xmp", "icc_profile",
                           "photoshop"})


def _strip_jpeg_segments(data: bytes) -> bytes:
    """The JPEG without its APP1–APP15 (EXIF, XMP, ICC, IPTC…) and COM segments; the
    compressed image data is copied unchanged (lossless)."""
    out, i = bytearray(data[:2]), 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            return bytes(out + data[i:])
        end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[i:end]
        i = end
    raise ValueError("not a JPEG this function can read")


def strip_stored(key: str) -> bool:
    """Remove every metadata container from a stored image, in place; True if it had any."""
    data = storage.load(key)
    with Image.open(BytesIO(data)) as img:
        if not (METADATA_KEYS & set(img.info) or getattr(img, "text", None)):
            return False
        if img.format == "JPEG":
            clean = _strip_jpeg_segments(data)
        else:
            img.load()
            out = BytesIO()
            pixels_only(img).save(out, img.format,
                                  **({"quality": 90} if img.format == "WEBP" else {}))
            clean = out.getvalue()
    storage.save(key, clean)
    return True


def strip_all_stored() -> tuple[int, int]:
    """``strip_stored`` on every photo, thumbnail and dispute evidence file: (cleaned, seen)."""
    from .models import Dispute

    keys = [k for row in db.session.execute(select(Photo.storage_key, Photo.thumb_key))
            for k in row if k]
    keys += [k for ks in db.session.scalars(select(Dispute.evidence_keys)) for k in ks or []]
    cleaned = 0
    for key in keys:
        if storage.exists(key):
            try:
                cleaned += strip_stored(key)
            except (OSError, ValueError, SyntaxError):
                current_app.logger.warning("Could not read stored image %s", key)
    return cleaned, len(keys)
