"""Stores as master data: their audited fields and the store CSV import (check the
file, then upsert the rows by code), used by HQ's master-data pages.

Like every service, nothing here commits (see ``auditapp/__init__.py``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import select

from .audit import log_change, snapshot
from .extensions import db
from .models import Region, Store

STORE_FIELDS = ("code", "name", "address", "city", "region_id", "timezone", "has_drive_thru",
                "latitude", "longitude", "active")


def active_stores() -> list[Store]:
    """The active stores, by code (the stores one may pick for new work)."""
    return list(db.session.scalars(
        select(Store).where(Store.active.is_(True)).order_by(Store.code)
    ))


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- store CSV import ---------------------------------------------------------------------

CSV_COLUMNS = ("code", "name", "address", "city", "region_code", "timezone", "has_drive_thru",
               "latitude", "longitude")
TRUE_WORDS = {"1", "true", "yes", "y", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "否", ""}
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass
class RowError:
    row: int
    column: str
    message: str


def parse_store_csv(data: bytes) -> tuple[list[dict], list[RowError]]:
    """Read and check a store CSV. Row numbers count the header as row 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(0, "", _("The file is not UTF-8 text. Save it as CSV UTF-8."))]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return [], [RowError(1, ", ".join(missing),
                             _("Missing column(s): %(cols)s.", cols=", ".join(missing)))]
    reader.fieldnames = header
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    rows: list[dict] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            errors.append(RowError(number, "", _("Too many values in this row.")))
            continue
        cell = {k: (raw.get(k) or "").strip() for k in CSV_COLUMNS}
        if not any(cell.values()):
            continue
        row: dict = {"row": number}

        def err(column: str, message: str, number: int = number) -> None:
            errors.append(RowError(number, column, message))

        code = cell["code"]
        if not code:
            err("code", _("The code is empty."))
        elif len(code) > 32:
            err("code", _("The code is longer than 32 characters."))
        elif code in seen:
            err("code", _("Code %(code)s already appears in row %(row)d.", code=code,
                          row=seen[code]))
        else:
            seen[code] = number
        row["code"] = code
        if not cell["name"]:
            err("name", _("The name is empty."))
        elif len(cell["name"]) > 200:
            err("name", _("The name is longer than 200 characters."))
        row["name"] = cell["name"]
        row["address"], row["city"] = cell["address"][:300], cell["city"][:120]
        region = regions.get(cell["region_code"])
        if not cell["region_code"]:
            err("region_code", _("The region code is empty."))
        elif region is None:
            err("region_code", _("Unknown region %(code)s.", code=cell["region_code"]))
        elif not region.active:
            err("region_code", _("Region %(code)s is deactivated.", code=cell["region_code"]))
        row["region"] = region
        tz = cell["timezone"] or "Asia/Shanghai"
        if not valid_timezone(tz):
            err("timezone", _("Unknown time zone %(tz)s.", tz=tz))
        row["timezone"] = tz
        flag = cell["has_drive_thru"].lower()
        if flag in TRUE_WORDS:
            row["has_drive_thru"] = True
        elif flag in FALSE_WORDS:
            row["has_drive_thru"] = False
        else:
            err("has_drive_thru",
                _("Write yes or no (1 or 0), not %(v)s.", v=cell["has_drive_thru"]))
        for column, bound in (("latitude", 90), ("longitude", 180)):
            value = cell[column]
            row[column] = None
            if value:
                try:
                    number_value = float(value)
                except ValueError:
                    err(column, _("%(v)s is not a number.", v=value))
                    continue
                if not -bound <= number_value <= bound:
                    err(column, _("Must be between -%(b)d and %(b)d.", b=bound))
                else:
                    row[column] = number_value
        rows.append(row)
    if not rows and not errors:
        errors.append(RowError(0, "", _("The file has no store rows.")))
    return rows, errors


def import_stores(rows: list[dict], user_id: int | None) -> tuple[int, int]:
    """Upsert the checked rows by code in the current transaction; (created, updated)."""
    existing = {
        s.code: s for s in db.session.scalars(
            select(Store).where(Store.code.in_([r["code"] for r in rows]))
        )
    }
    created = updated = 0
    for row in rows:
        store = existing.get(row["code"])
        before = snapshot(store, STORE_FIELDS) if store else None
        if store is None:
            store = Store(code=row["code"])
            db.session.add(store)
            created += 1
        else:
            updated += 1
        store.name, store.address, store.city = row["name"], row["address"], row["city"]
        store.region = row["region"]
        store.timezone, store.has_drive_thru = row["timezone"], row["has_drive_thru"]
        store.latitude, store.longitude = row["latitude"], row["longitude"]
        db.session.flush()
        log_change("store", store.id, "import" if before is None else "import_update", user_id,
                   before, snapshot(store, STORE_FIELDS))
    return created, updated
