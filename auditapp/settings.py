"""Programme settings HQ can change (defaults from SCORING.md), stored in ``settings``."""

from __future__ import annotations

from .audit import log_change
from .extensions import db
from .models import Setting
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
}


def scoring_config() -> ScoringConfig:
    """The scoring settings in force (the SCORING.md defaults until HQ changes them)."""
    row = db.session.get(Setting, SCORING_KEY)
    return ScoringConfig.from_dict(row.value if row else None)


def save_scoring_config(config: ScoringConfig, user_id: int | None = None) -> None:
    """Validate and store new scoring settings, with an audit-trail entry."""
    config.validate()
    row = db.session.get(Setting, SCORING_KEY)
    before = row.value if row else ScoringConfig().to_dict()
    if row is None:
        row = Setting(key=SCORING_KEY, value=config.to_dict())
        db.session.add(row)
    else:
        row.value = config.to_dict()
    log_change("setting", SCORING_KEY, "update", user_id, before, config.to_dict())


def get_setting(key: str) -> dict:
    row = db.session.get(Setting, key)
    return {**DEFAULTS.get(key, {}), **(row.value if row else {})}


def save_setting(key: str, value: dict, user_id: int | None = None) -> None:
    row = db.session.get(Setting, key)
    before = get_setting(key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    log_change("setting", key, "update", user_id, before, value)
