"""Open and closed months (SCORING.md §11).

A month is **open** (its figures are provisional) until HQ closes it; it can be closed
once it has ended and none of its visits awaits review or has an open dispute. Closing
stores every store's, region's and the brand's figures as they stand, with the settings in
force (``MonthClosure`` + ``MonthFigure``); a closed month never changes again, and there
is no reopening. Every service that would change a month's figures (a release, a dispute,
a complaint, a settings change) asks ``ensure_open`` first and is refused with a clear
message. Settings versions (``settings.py``) take effect from the first open month.

Layer: cross-cutting (like ``settings.py``); closing reads ``analytics`` when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from .audit import log_change
from .extensions import db
from .locks import locking
from .models import Dispute, MonthClosure, MonthFigure, Visit
from .models.followup import DISPUTE_OPEN
from .models.months import SCOPE_BRAND, SCOPE_REGION, SCOPE_STORE
from .models.visit import ASSIGNED, IN_PROGRESS, RETURNED, SUBMITTED
from .settings import latest_closed_month, month_of, scoring_config


class MonthClosedError(ValueError):
    """A change that would alter a closed month; the message (translated) says why."""

    status_code = 409


def is_closed(when: object) -> bool:
    """Whether the month of ``when`` (a Period's first month, a date or ``YYYY-MM``) is
    closed."""
    label = month_of(when)
    return label is not None and db.session.get(MonthClosure, label) is not None


def is_provisional(period: object) -> bool:
    """Figures of an open month are provisional (a range: unless all of it is closed)."""
    start = getattr(period, "start", None)
    end = getattr(period, "end", None)
    if start is None or end is None or getattr(period, "is_month", True):
        return not is_closed(period)
    months = set()
    day = start
    while day < end:
        months.add(f"{day:%Y-%m}")
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    closed = db.session.scalar(select(func.count()).select_from(MonthClosure).where(
        MonthClosure.month.in_(months)))
    return closed < len(months)


def ensure_open(when: object, message: str | None = None) -> None:
    """Refuse (``MonthClosedError``) a change to the month of ``when`` once it is closed."""
    label = month_of(when)
    if label is not None and db.session.get(MonthClosure, label) is not None:
        raise MonthClosedError(message or _(
            "%(month)s is closed: its figures are final and can no longer change.",
            month=label))


@dataclass(frozen=True)
class Pending:
    """What stands in the way of closing a month, and what is still out in the field."""

    month: str
    ended: bool
    closed: bool
    awaiting_review: int
    open_disputes: int
    not_submitted: int

    @property
    def can_close(self) -> bool:
        return (self.ended and not self.closed and not self.awaiting_review
                and not self.open_disputes)


def _month_visits(period) -> list:
    """The month's visits: by visit date, or by assignment month (for those not done)."""
    return [or_(period.includes(Visit.visit_date), Visit.month == period.label)]


def pending(period, today: date | None = None) -> Pending:
    """The month's visits awaiting review, open disputes, and visits not yet submitted."""
    where = _month_visits(period)
    awaiting = db.session.scalar(
        select(func.count(Visit.id)).where(*where, Visit.status == SUBMITTED))
    disputes = db.session.scalar(
        select(func.count(Dispute.id)).join(Visit, Visit.id == Dispute.visit_id)
        .where(*where, Dispute.status == DISPUTE_OPEN))
    out = db.session.scalar(select(func.count(Visit.id)).where(
        *where, Visit.status.in_((ASSIGNED, IN_PROGRESS, RETURNED))))
    return Pending(
        month=period.label,
        ended=period.end <= (today or date.today()),
        closed=is_closed(period),
        awaiting_review=int(awaiting or 0),
        open_disputes=int(disputes or 0),
        not_submitted=int(out or 0),
    )


def close_month(period, user_id: int | None, today: date | None = None) -> MonthClosure:
    """Close the month: refused (``MonthClosedError``) before it ends, when already
    closed, or while visits await review or disputes are open. Stores the figures."""
    # every visit of the month, locked until the commit: a release or dispute filed at the
    # same moment either commits first (and is counted below) or waits and is refused
    db.session.execute(locking(select(Visit.id).where(*_month_visits(period)))).all()
    state = pending(period, today)
    if state.closed:
        raise MonthClosedError(_("%(month)s is already closed. A closed month is never "
                                 "reopened.", month=state.month))
    if not state.ended:
        raise MonthClosedError(_("%(month)s has not ended yet; it can be closed from the "
                                 "first day of the next month.", month=state.month))
    if state.awaiting_review or state.open_disputes:
        raise MonthClosedError(_(
            "%(month)s cannot be closed yet: %(review)s visit(s) await review and "
            "%(disputes)s dispute(s) are open.", month=state.month,
            review=state.awaiting_review, disputes=state.open_disputes))
    config = scoring_config(period)
    figures = _snapshot(period, state.month, config)
    closure = MonthClosure(month=state.month, closed_by_id=user_id, settings=config.to_dict(),
                           complete=True)
    db.session.add(closure)
    db.session.flush()  # the closure before its figures (their foreign key)
    db.session.add_all(figures)
    db.session.flush()
    log_change("month", state.month, "close", user_id, None,
               {"settings": config.to_dict(), "figures": len(figures)})
    return closure


def _snapshot(period, month: str, config) -> list[MonthFigure]:
    """Every store's, region's and the brand's figures of the month, computed live, with
    all a page reads later (store code and region, errors): the closed month is read from
    these rows from then on (``analytics._cached_query``)."""
    from . import analytics

    with analytics.live_figures():
        counted = {s.store_id for s in analytics.store_scores(period, config)}
        stores = analytics.store_scores(period, config, include_inactive=True)
        group_rows = {
            (key, r.group_id): r
            for key in ("region_id", "brand_id")
            for r in db.session.execute(analytics._group_query(period, config, key))
        }
        groups = [(SCOPE_REGION, "region_id", g) for g in analytics.region_scores(period, config)]
        groups.append((SCOPE_BRAND, "brand_id", analytics.brand_score(period, config)))
    figures = [
        MonthFigure(
            month=month, scope=SCOPE_STORE, ref_id=s.store_id, name=s.name, bdi=s.bdi,
            band=s.band, rank=s.rank, ms=s.ms, ms_visits=s.ms_visits, qa=s.qa,
            qa_visits=s.qa_visits, hl=s.hl, complaints=s.complaints,
            stores_scored=int(s.bdi is not None), code=s.code, active=s.active,
            counted=s.store_id in counted, region_id=s.region_id, region_name=s.region_name,
            brand_id=s.brand_id, ms_e2=s.ms_e2, bdi_e2=s.bdi_e2)
        for s in stores
    ]
    for scope, key, g in groups:
        row = group_rows.get((key, g.id))
        figures.append(MonthFigure(
            month=month, scope=scope, ref_id=g.id, name=g.name, bdi=g.bdi,
            band=g.band, stores_scored=g.stores_scored, ms_visits=g.visits, qa_visits=0,
            complaints=0, bdi_e2=row.e2_sum if row is not None else None))
    return figures


def closures() -> list[MonthClosure]:
    """Every closed month, latest first."""
    return list(db.session.scalars(select(MonthClosure).order_by(MonthClosure.month.desc())))


def figures(month: str, scope: str) -> list[MonthFigure]:
    """The stored figures of a closed month for one scope."""
    return list(db.session.scalars(
        select(MonthFigure).where(MonthFigure.month == month, MonthFigure.scope == scope)
        .order_by(MonthFigure.id)))


__all__ = ["MonthClosedError", "close_month", "closures", "ensure_open", "figures",
           "is_closed", "is_provisional", "latest_closed_month", "pending"]
