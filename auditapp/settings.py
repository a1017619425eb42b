"""Programme settings HQ can change (defaults from SCORING.md), kept as versions.

Each change is a ``SettingVersion`` in force from a month (``effective_from``, the first
open month at the earliest: SCORING.md §11, a closed month never changes) until a newer
change takes effect; a month is always computed with the version in force for it. A ``Setting`` row
written before versions existed counts as in force from the beginning.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from .audit import log_change
from .extensions import db
from .models import MonthClosure, Setting, SettingVersion
from .scoring import ScoringConfig

SCORING_KEY = "scoring"
DEFAULTS: dict[str, dict] = {
    # Days after release during which a manager may dispute items.
    "disputes": {"window_days": 7},
    # Hours after receipt when an unresolved complaint is overdue.
    "complaints": {"overdue_hours": 48},
    # What a store may learn about when it was visited: the exact arrival minute (else
    # its daypart, ``i18n.DAYPARTS``), and hours from the visit before its release.
    "privacy": {"exact_times": False, "release_delay_hours": 0},
    # Extra mystery-shop visits a month HQ may accept from the proposals (``proposals.py``).
    "proposals": {"extra_visit_budget": 5},
}


class SettingsError(ValueError):
    """A settings change the rules refuse (e.g. one that would alter a closed month)."""


def month_of(when: object) -> str | None:
    """``YYYY-MM`` of a period (its first month), a date or a ``YYYY-MM`` text; None
    stays None (the newest version)."""
    if when is None or isinstance(when, str):
        return when
    start = getattr(when, "start", when)
    if isinstance(start, date):
        return f"{start:%Y-%m}"
    raise TypeError(f"not a month: {when!r}")


#: The value of a setting in force for a month: its latest change in force by then (a
#: change from an earlier month supersedes an older one from a later month; none of them
#: can reach a closed month), else the row written before versions existed. One
#: statement, built once and run on the session's connection: it is read for every
#: figure of a page, and the ORM's per-query work and a second round trip cost more than
#: the query.
_IN_FORCE = select(func.coalesce(
    select(SettingVersion.value)
    .where(SettingVersion.key == bindparam("key"),
           SettingVersion.effective_from <= bindparam("month"))
    .order_by(SettingVersion.id.desc()).limit(1).scalar_subquery(),
    select(Setting.value).where(Setting.key == bindparam("key")).scalar_subquery(),
    type_=SettingVersion.value.type,
))
#: Later than any month: the newest version.
_NEWEST = "9999-99"


def _stored(key: str, month: object = None) -> dict | None:
    """The value of the version in force for ``month`` (None: the newest version)."""
    if db.session.autoflush:  # as Session.execute would, before reading
        db.session.flush()
    label = month_of(month)
    return db.session.connection().execute(
        _IN_FORCE, {"key": key, "month": _NEWEST if label is None else label}).scalar()


def latest_closed_month() -> str | None:
    """The latest month HQ closed (``YYYY-MM``), None when no month is closed."""
    return db.session.scalar(select(func.max(MonthClosure.month)))


def first_open_month() -> str | None:
    """The month after the latest closed one: the earliest month a settings change may
    take effect from (None: no month is closed, every month is open)."""
    last = latest_closed_month()
    if last is None:
        return None
    year, month = int(last[:4]), int(last[5:])
    return f"{year + (month == 12):04d}-{month % 12 + 1:02d}"


def _effective_from(month: str | None) -> str:
    """Check an effective-from month: the first open month at the earliest."""
    first = first_open_month()
    if month is None:
        return first or "1900-01"
    if first is not None and month < first:
        raise SettingsError(
            _("A change cannot take effect from %(month)s: that month is closed. The "
              "earliest month is %(first)s.", month=month, first=first)
        )
    return month


def scoring_config(month: object = None) -> ScoringConfig:
    """The scoring settings in force for ``month`` (a Period, date or ``YYYY-MM``; None:
    the newest version), the SCORING.md defaults until HQ changes them."""
    return ScoringConfig.from_dict(_stored(SCORING_KEY, month))


def save_scoring_config(
    config: ScoringConfig, user_id: int | None = None, effective_from: str | None = None
) -> None:
    """Validate and store new scoring settings as a version in force from
    ``effective_from`` (None: the first open month), with an audit-trail entry."""
    config.validate()
    _save(SCORING_KEY, config.to_dict(), scoring_config(effective_from).to_dict(), user_id,
          effective_from)


def get_setting(key: str, month: object = None) -> dict:
    return {**DEFAULTS.get(key, {}), **(_stored(key, month) or {})}


def save_setting(
    key: str, value: dict, user_id: int | None = None, effective_from: str | None = None
) -> None:
    _save(key, value, get_setting(key, effective_from), user_id, effective_from)


def _save(key: str, value: dict, before: dict, user_id: int | None,
          effective_from: str | None) -> None:
    month = _effective_from(effective_from)
    db.session.add(SettingVersion(key=key, effective_from=month, value=value,
                                  created_by_id=user_id))
    log_change("setting", key, "update", user_id, before,
               {**value, "effective_from": month})


def versions(key: str) -> list[SettingVersion]:
    """Every version of a setting, newest first."""
    return list(db.session.scalars(
        select(SettingVersion).where(SettingVersion.key == key)
        .order_by(SettingVersion.id.desc())
    ))
