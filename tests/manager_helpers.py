"""Shared builders for the manager portal / disputes / actions tests."""

from __future__ import annotations

import io
from datetime import date, timedelta

from PIL import Image

from auditapp import storage
from auditapp.extensions import db
from auditapp.models import Photo, utcnow

from .factories import make_user, make_visit

SHOPPER_SECRETS = ("MS-101", "Alice Shopper")


def make_area_manager(username: str, *regions):
    """An area manager given ``regions`` (committed)."""
    user = make_user(username, "area_manager", f"Area {username}")
    user.regions.extend(regions)
    db.session.commit()
    return user


def png_bytes(color: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def released_visit(chain, store=None, *, days_ago: float = 1, **kwargs):
    """A released mystery visit (by shopper MS-101) with a failed critical item
    (restroom), a failed normal item (thanks) and a slow service time; released
    ``days_ago`` days ago so the dispute window is open by default."""
    values = {"clean_restroom": 0, "courtesy_thanks": 0, "speed_total": 200}
    values.update(kwargs.pop("values", {}))
    visit = make_visit(
        chain, store or chain.stores[0], visit_date=kwargs.pop("visit_date", date(2026, 5, 10)),
        values=values, **kwargs,
    )
    visit.released_at = utcnow() - timedelta(days=days_ago)
    visit.overall_comment = "Busy lunchtime, crew friendly."
    for a in visit.answers:
        if a.item.code == "clean_restroom":
            a.comment = "No soap in the restroom."
    db.session.commit()
    return visit


def add_photo(visit, item=None) -> Photo:
    key = storage.new_key("photos", ".png")
    storage.save(key, png_bytes("blue"))
    photo = Photo(visit=visit, storage_key=key, thumb_key=key, content_type="image/png",
                  item_id=item.id if item is not None else None, category="premises")
    db.session.add(photo)
    db.session.commit()
    return photo


def answer(visit, code: str):
    return next(a for a in visit.answers if a.item.code == code)


def get_text(client, url: str) -> tuple[int, str]:
    with client.get(url) as r:
        return r.status_code, r.get_data(as_text=True)


def file_dispute(client, visit, ans, reason="The restroom was checked at 12:05 and stocked.",
                 evidence: bytes | None = None, filename="proof.png"):
    data = {f"d{ans.id}-answer_id": str(ans.id), f"d{ans.id}-reason": reason}
    if evidence is not None:
        data[f"d{ans.id}-evidence"] = (io.BytesIO(evidence), filename)
    return client.post(f"/manager/visits/{visit.id}/disputes", data=data,
                       content_type="multipart/form-data")


def add_action(client, visit, ans, action="Restock soap every hour", owner="Shift lead Wang",
               due: str = "2026-12-01"):
    return client.post(
        f"/manager/visits/{visit.id}/actions",
        data={f"a{ans.id}-answer_id": str(ans.id), f"a{ans.id}-action": action,
              f"a{ans.id}-owner": owner, f"a{ans.id}-due_date": due},
    )
