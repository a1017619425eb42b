"""What-if preview of a settings change (issue #16): how the latest open month's ranking
and bands would move under draft scoring settings, before HQ saves them."""

from __future__ import annotations

from dataclasses import dataclass

from . import analytics, scoring
from .extensions import db
from .models import MonthClosure
from .settings import first_open_month, scoring_config


@dataclass(frozen=True)
class Move:
    """One store under the settings in force and under the draft."""

    code: str
    name: str
    bdi_before: float | None
    bdi_after: float | None
    band_before: str | None
    band_after: str | None
    rank_before: int | None
    rank_after: int | None

    @property
    def rank_move(self) -> int:
        """Places gained (positive) or lost; 0 when either rank is missing."""
        if self.rank_before is None or self.rank_after is None:
            return 0
        return self.rank_before - self.rank_after


@dataclass(frozen=True)
class Preview:
    month: str
    stores: int
    band_changes: list[Move]
    rank_moves: list[Move]


def latest_open_month() -> analytics.Period:
    """The latest month with released visits if it is open, else the first open month."""
    month = analytics.latest_data_month()
    if db.session.get(MonthClosure, month) is not None:
        month = first_open_month() or month
    return analytics.Period.month(month)


def preview(draft: scoring.ScoringConfig, largest: int = 10) -> Preview:
    """Stores changing band, and the ``largest`` rank moves, in the latest open month if
    the draft replaced the settings in force for it."""
    period = latest_open_month()
    before = {s.store_id: s for s in analytics.store_scores(period, scoring_config(period))}
    after = analytics.store_scores(period, draft)
    moves = [
        Move(s.code, s.name, before[s.store_id].bdi, s.bdi, before[s.store_id].band, s.band,
             before[s.store_id].rank, s.rank)
        for s in after if s.store_id in before
    ]
    moves.sort(key=lambda m: m.code)
    ranked = sorted((m for m in moves if m.rank_move), key=lambda m: (-abs(m.rank_move), m.code))
    return Preview(
        month=period.label,
        stores=len(moves),
        band_changes=[m for m in moves if m.band_before != m.band_after],
        rank_moves=ranked[:largest],
    )
