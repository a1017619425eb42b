"""Where an extra visit changes a decision (issue #16 item 4, docs/RULES.md "Extra visits").

A store's band is **provisional** when its 90 % BDI interval (SCORING.md §10) straddles a
band boundary. A second mystery-shop visit in the month halves σ²/n and may settle the band,
so the scheduler proposes one for those stores, most ambiguous first, up to the month's
budget (HQ's effective-dated setting ``proposals.extra_visit_budget``).

**Ambiguity** of a store = |BDI − b| / h, where b is the band boundary inside its interval
nearest to the BDI and h = Z90·e the interval's half-width: 0 when the BDI sits on the
boundary (a coin toss), towards 1 when the boundary is at the interval's edge. Stores are
proposed by ambiguity ascending (ties by store code).

Proposals are made for a month that has not ended (a visit must fall in it) and is open.
HQ accepts some or all of the proposals; each becomes an extra assignment (a real ``Visit``
with ``extra=True``, a shopper and a link, like any other), on top of the store's regular
one-a-month rotation. Accepting is refused for a closed month, and written to the audit
trail. Nothing here commits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from . import analytics, notifications, payments, scoring
from . import shoppers as shoppers_rules
from .audit import log_change
from .extensions import db
from .models import SHOPPER, Store, User, Visit
from .models.visit import ASSIGNED, MYSTERY, REJECTED
from .months import MonthClosedError, ensure_open, is_closed
from .scheduling import (
    TOKEN_GRACE,
    SchedulingError,
    _,
    _neighbour_evaluators,
    due_date_for,
    ineligibility,
    latest_mystery_questionnaire,
    next_visit_type,
)
from .settings import get_setting
from .visits import new_access_token

SETTING_KEY = "proposals"


@dataclass(frozen=True)
class Ambiguity:
    """How close a figure is to changing band: the boundary inside its interval nearest to
    the value, the distance to it, the half-width, and their ratio."""

    boundary: float
    distance: float
    half_width: float

    @property
    def ratio(self) -> float:
        return self.distance / self.half_width if self.half_width else 0.0


def ambiguity(value: float | None, error: float, config: scoring.ScoringConfig
              ) -> Ambiguity | None:
    """The figure's ambiguity (pure), or None when its interval lies inside one band."""
    span = scoring.interval(value, error)
    if value is None or span is None or len(scoring.bands_touched(span, config)) < 2:
        return None
    inside = [bound for bound, _code in config.bands
              if scoring.at_least(span.high, bound) and not scoring.at_least(span.low, bound)]
    if not inside:  # pragma: no cover - two bands touched means a boundary inside
        return None
    boundary = min(inside, key=lambda b: (abs(value - b), b))
    return Ambiguity(boundary, abs(value - boundary), scoring.Z90 * error)


@dataclass(frozen=True)
class Proposal:
    store: analytics.StoreScore
    ambiguity: Ambiguity

    @property
    def reason(self) -> str:
        """Why this store: its BDI, interval and bands, and how close the boundary is."""
        from .i18n import band_range_label, fmt_interval

        s, a = self.store, self.ambiguity
        return _("BDI %(bdi)s, 90 %% interval %(interval)s (n=%(n)s) spans %(bands)s; "
                 "%(distance)s points from the %(boundary)s boundary, half-width "
                 "%(half)s (ambiguity %(ratio)s).",
                 bdi=f"{s.bdi:.1f}", interval=fmt_interval(s.interval), n=s.visits,
                 bands=band_range_label(s.bands), distance=f"{a.distance:.1f}",
                 boundary=f"{a.boundary:g}", half=f"{a.half_width:.1f}",
                 ratio=f"{a.ratio:.2f}")


@dataclass
class Proposals:
    month: str
    closed: bool
    budget: int
    #: the month is over: a visit now would fall in a later month
    ended: bool = False
    #: extra visits already accepted this month (they use up the budget)
    accepted: list[Visit] = field(default_factory=list)
    #: within the budget, most ambiguous first
    proposed: list[Proposal] = field(default_factory=list)
    #: also ambiguous, but beyond the budget
    beyond_budget: list[Proposal] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return max(0, self.budget - len(self.accepted))


def budget(month: str) -> int:
    """The month's budget of extra visits (the setting version in force for the month)."""
    try:
        return max(0, int(get_setting(SETTING_KEY, month).get("extra_visit_budget", 0)))
    except (TypeError, ValueError):
        return 0


def _extra_visits(month: str) -> list[Visit]:
    return list(db.session.scalars(
        select(Visit).join(Store, Store.id == Visit.store_id)
        .where(Visit.kind == MYSTERY, Visit.month == month, Visit.extra.is_(True),
               Visit.status != REJECTED)
        .order_by(Store.code)))


def propose(month: str, today: date | None = None) -> Proposals:
    """The month's proposals (nothing is stored). A closed or ended month has none."""
    period = analytics.Period.month(month)
    out = Proposals(month=month, closed=is_closed(period), budget=budget(month),
                    ended=period.end <= (today or date.today()))
    if out.closed or out.ended:
        return out
    out.accepted = _extra_visits(month)
    taken = {v.store_id for v in out.accepted}
    config = analytics._scoring_config(None, period)
    ranked = []
    for store in analytics.store_scores(period, config):
        if store.store_id in taken or not store.active:
            continue
        found = ambiguity(store.bdi, store.error, config)
        if found is not None:
            ranked.append(Proposal(store, found))
    ranked.sort(key=lambda p: (scoring.exact(p.ambiguity.ratio), p.store.code))
    out.proposed = ranked[:out.remaining]
    out.beyond_budget = ranked[out.remaining:]
    return out


def save_budget(month: str, value: int, user_id: int | None) -> None:
    """HQ's budget of extra visits, in force from ``month`` (an open month)."""
    from .settings import save_setting

    if value < 0:
        raise SchedulingError(_("The budget of extra visits cannot be negative."))
    save_setting(SETTING_KEY, {"extra_visit_budget": int(value)}, user_id, month)


def _shopper_for(store: Store, month: str, shoppers: list[User], load: Counter,
                 questionnaire_code: str, neighbours: dict[int, set[int]],
                 workforce: shoppers_rules.SchedulingFacts) -> tuple[User | None, list[str]]:
    """The least-loaded eligible shopper who is not already visiting the store this month
    (ties as the monthly plan breaks them: ``shoppers.preference``, then fewer visits to
    the store, then pseudonym), and why the others may not go. Eligible is what the monthly
    plan and every reassignment ask (``scheduling.ineligibility``, with the workforce
    rules): never suspended, blacklisted, unavailable all month or uncertified."""
    this_month = set(db.session.scalars(select(Visit.evaluator_id).where(
        Visit.store_id == store.id, Visit.month == month, Visit.evaluator_id.is_not(None))))
    pairs = Counter(dict(db.session.execute(
        select(Visit.evaluator_id, func.count(Visit.id))
        .where(Visit.store_id == store.id, Visit.evaluator_id.is_not(None))
        .group_by(Visit.evaluator_id)).all()))
    candidates, reasons = [], []
    for u in shoppers:
        if u.id in this_month:
            continue
        why = ineligibility(u, store, month, neighbours, workforce, questionnaire_code)
        if why is None:
            candidates.append(u)
        else:
            reasons.append(why)
    if not candidates:
        return None, reasons
    return min(candidates, key=lambda u: (load[u.id],
                                          *shoppers_rules.preference(workforce, u, store),
                                          pairs[u.id], u.username)), reasons


def accept(month: str, store_ids: list[int], user_id: int | None,
           today: date | None = None) -> list[Visit]:
    """Turn the chosen proposals (their store ids; all of them when empty) into extra
    assignments. Refused (``MonthClosedError``) for a closed month, and
    (``SchedulingError``) for a month that has ended, a store that is not proposed (within
    the budget) or has no eligible shopper."""
    try:
        ensure_open(month)
    except MonthClosedError:
        raise MonthClosedError(_("%(month)s is closed: its figures are final, so no extra "
                                 "visit can be scheduled for it.", month=month)) from None
    current = propose(month, today)
    if current.ended:
        raise SchedulingError(_("%(month)s has ended: an extra visit now would fall in a "
                                "later month.", month=month))
    proposed = {p.store.store_id: p for p in current.proposed}
    chosen = list(store_ids) or list(proposed)
    if not chosen:
        raise SchedulingError(_("No extra visit is proposed for %(month)s.", month=month))
    for sid in chosen:
        if sid not in proposed:
            store = db.session.get(Store, sid)
            raise SchedulingError(_(
                "Store %(store)s is not among the proposals for %(month)s (its band is "
                "settled, it already has an extra visit, or the budget is used up).",
                store=store.code if store else sid, month=month))
    questionnaire = latest_mystery_questionnaire()
    if questionnaire is None:
        raise SchedulingError(_("No published mystery-shop questionnaire."))
    shoppers = list(db.session.scalars(
        select(User).where(User.role == SHOPPER, User.active.is_(True))
        .order_by(User.username)))
    load = Counter(dict(db.session.execute(
        select(Visit.evaluator_id, func.count(Visit.id))
        .where(Visit.month == month, Visit.evaluator_id.is_not(None))
        .group_by(Visit.evaluator_id)).all()))
    neighbours = _neighbour_evaluators(month)
    workforce = shoppers_rules.scheduling_facts()
    due = due_date_for(month)
    expires = datetime.combine(due, datetime.min.time()) + timedelta(days=1) + TOKEN_GRACE
    created = []
    for sid in chosen:
        proposal = proposed[sid]
        store = db.session.get(Store, sid)
        shopper, reasons = _shopper_for(store, month, shoppers, load, questionnaire.code,
                                        neighbours, workforce)
        if shopper is None:
            raise SchedulingError(_("No eligible shopper for an extra visit to store "
                                    "%(store)s in %(month)s: %(reasons)s", store=store.code,
                                    month=month, reasons=" ".join(reasons)))
        load[shopper.id] += 1
        history = list(db.session.execute(
            select(Visit.month, Visit.visit_type)
            .where(Visit.kind == MYSTERY, Visit.store_id == sid, Visit.month <= month)).all())
        visit = Visit(
            kind=MYSTERY, extra=True, store=store, evaluator=shopper,
            questionnaire=questionnaire, month=month,
            visit_type=next_visit_type(store, [tuple(h) for h in history]), due_date=due,
            status=ASSIGNED, access_token=new_access_token(), token_expires_at=expires,
        )
        db.session.add(visit)
        created.append((visit, proposal))
    db.session.flush()
    payments.cap_new_assignments([v for v, _p in created], user_id)  # #20: every assignment
    log_change("schedule", month, "accept_extra_visits", user_id, None, {
        "created": [v.id for v, _p in created],
        "stores": {p.store.code: {
            "bdi": p.store.bdi, "interval": [p.store.interval.low, p.store.interval.high],
            "boundary": p.ambiguity.boundary, "ambiguity": p.ambiguity.ratio,
        } for _v, p in created},
        "budget": current.budget,
    })
    visits = [v for v, _p in created]
    notifications.notify(notifications.ASSIGNMENT_ISSUED, visits)
    return visits
