"""Monthly mystery-shop scheduling: one visit per active store per month.

Rules (issue #4):
- every active store gets exactly one mystery-shop visit a month;
- visit types rotate month to month per store: the type the store has gone longest
  without (never-used types first, in ``VISIT_TYPES`` order); ``drive_thru`` only for
  stores that have one;
- no shopper visits the same store two months running (checked against the months before
  and after, so months may be generated in any order);
- a shopper is never sent to a store they are tied to (``User.tied_stores``);
- load is spread evenly: each store goes to the eligible shopper with the fewest visits
  that month (ties: fewer visits overall to that store, then pseudonym);
- stores with the fewest eligible shoppers are placed first.

``plan_month`` only computes; ``generate_month`` stores the plan. Both are idempotent:
existing visits of the month are kept as they are, so a re-run creates only what is
missing (e.g. a store opened since).
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import has_request_context
from flask_babel import force_locale, gettext
from sqlalchemy import or_, select

from . import analytics, notifications, payments, scenarios, scoring, visit_states
from . import shoppers as workforce_rules
from .audit import log_change
from .extensions import db
from .models import SHOPPER, Questionnaire, Store, User, Visit
from .models.questionnaire import KIND_MYSTERY, PUBLISHED
from .models.visit import ASSIGNED, CANCELLED, MYSTERY
from .visits import new_access_token

#: Statuses in which HQ may still hand a visit to another shopper.
REASSIGNABLE_STATUSES = tuple(visit_states.TRANSITIONS[visit_states.REASSIGN])
#: A shopper's link keeps working this long after the due date.
TOKEN_GRACE = timedelta(days=14)


def _(text: str, **variables: object) -> str:
    """gettext that also works outside a request (the CLI: the terminal's language)."""
    if has_request_context():
        return gettext(text, **variables)
    from .i18n import cli_locale

    with force_locale(cli_locale()):
        return gettext(text, **variables)


class SchedulingError(ValueError):
    """A scheduling request that cannot be carried out; the message says why."""


@dataclass
class Planned:
    store: Store
    shopper: User
    visit_type: str


@dataclass
class Unscheduled:
    store: Store
    reason: str


@dataclass
class Plan:
    month: str
    existing: list[Visit] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    unscheduled: list[Unscheduled] = field(default_factory=list)
    questionnaire: Questionnaire | None = None
    created: list[Visit] = field(default_factory=list)


def parse_month(text: str) -> analytics.Period:
    """The month ``YYYY-MM``; raises SchedulingError with a readable message."""
    try:
        return analytics.Period.month(text or "")
    except analytics.PeriodError as error:
        raise SchedulingError(str(error)) from None


def shift_month(month: str, delta: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def due_date_for(month: str) -> date:
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, calendar.monthrange(year, mon)[1])


def latest_mystery_questionnaire() -> Questionnaire | None:
    return db.session.scalar(
        select(Questionnaire)
        .where(Questionnaire.kind == KIND_MYSTERY, Questionnaire.status == PUBLISHED)
        .order_by(Questionnaire.published_at.desc(), Questionnaire.id.desc())
        .limit(1)
    )


def allowed_types(store: Store) -> tuple[str, ...]:
    return tuple(t for t in scoring.VISIT_TYPES if t != "drive_thru" or store.has_drive_thru)


def next_visit_type(store: Store, history: list[tuple[str, str]]) -> str:
    """The allowed type the store has gone longest without. ``history``: (month, type)."""
    last_used: dict[str, str] = {}
    for month, vtype in history:
        if month > last_used.get(vtype, ""):
            last_used[vtype] = month
    options = allowed_types(store)
    return min(options, key=lambda t: (last_used.get(t, ""), options.index(t)))


def ineligibility(shopper: User, store: Store, month: str,
                  neighbours: dict[int, set[int]] | None = None,
                  workforce: workforce_rules.SchedulingFacts | None = None,
                  questionnaire_code: str | None = None) -> str | None:
    """Why ``shopper`` may not visit ``store`` in ``month`` (None when they may); the
    workforce rules (standing, unavailable dates, certification quiz) are in
    ``workforce_rules.ineligibility``."""
    if shopper.role != SHOPPER:
        return _("%(user)s is not a mystery shopper.", user=shopper.username)
    if not shopper.active:
        return _("%(user)s is not active.", user=shopper.username)
    if any(s.id == store.id for s in shopper.tied_stores):
        return _("%(user)s must never visit store %(store)s (conflict of interest).",
                 user=shopper.username, store=store.code)
    if neighbours is None:
        neighbours = _neighbour_evaluators(month)
    if shopper.id in neighbours.get(store.id, set()):
        return _("%(user)s visits store %(store)s in the month before or after.",
                 user=shopper.username, store=store.code)
    return workforce_rules.ineligibility(workforce or workforce_rules.scheduling_facts(),
                                         shopper, store, month, questionnaire_code)


def _neighbour_evaluators(month: str) -> dict[int, set[int]]:
    """store id → shoppers who visit it in the month before or after ``month`` (a visit
    cancelled before the shopper checked in was never made: it does not count)."""
    rows = db.session.execute(
        select(Visit.store_id, Visit.evaluator_id).where(
            Visit.kind == MYSTERY,
            Visit.month.in_([shift_month(month, -1), shift_month(month, 1)]),
            Visit.evaluator_id.is_not(None),
            or_(Visit.status != CANCELLED, Visit.started_at.is_not(None)),
        )
    )
    result: dict[int, set[int]] = {}
    for store_id, evaluator_id in rows:
        result.setdefault(store_id, set()).add(evaluator_id)
    return result


def plan_month(month: str) -> Plan:
    """What ``generate_month`` would create for ``month`` (nothing is stored)."""
    parse_month(month)
    plan = Plan(month=month)
    plan.existing = list(
        db.session.scalars(
            select(Visit)
            .join(Store, Visit.store_id == Store.id)
            .where(Visit.kind == MYSTERY, Visit.month == month)
            .order_by(Store.code)
        )
    )
    done = {v.store_id for v in plan.existing}
    stores = [
        s for s in db.session.scalars(
            select(Store).where(Store.active.is_(True)).order_by(Store.code)
        )
        if s.id not in done
    ]
    if not stores:
        return plan
    plan.questionnaire = latest_mystery_questionnaire()
    if plan.questionnaire is None:
        reason = _("No published mystery-shop questionnaire.")
        plan.unscheduled = [Unscheduled(s, reason) for s in stores]
        return plan
    shoppers = list(
        db.session.scalars(
            select(User).where(User.role == SHOPPER, User.active.is_(True))
            .order_by(User.username)
        )
    )
    if not shoppers:
        reason = _("No active mystery shopper.")
        plan.unscheduled = [Unscheduled(s, reason) for s in stores]
        return plan

    # Store histories (type rotation) and shopper/store visit counts, from earlier months.
    history: dict[int, list[tuple[str, str]]] = {}
    pair_count: Counter[tuple[int, int]] = Counter()
    for store_id, vmonth, vtype, evaluator_id in db.session.execute(
        select(Visit.store_id, Visit.month, Visit.visit_type, Visit.evaluator_id).where(
            Visit.kind == MYSTERY, Visit.store_id.in_([s.id for s in stores]),
            Visit.month < month,
        )
    ):
        history.setdefault(store_id, []).append((vmonth, vtype))
        if evaluator_id is not None:
            pair_count[(evaluator_id, store_id)] += 1
    load: Counter[int] = Counter(v.evaluator_id for v in plan.existing if v.evaluator_id)
    neighbours = _neighbour_evaluators(month)
    workforce = workforce_rules.scheduling_facts()

    eligible: dict[int, list[User]] = {}
    reasons: dict[int, list[str]] = {}
    for store in stores:
        eligible[store.id] = []
        reasons[store.id] = []
        for shopper in shoppers:
            why = ineligibility(shopper, store, month, neighbours, workforce,
                                plan.questionnaire.code)
            if why is None:
                eligible[store.id].append(shopper)
            else:
                reasons[store.id].append(why)

    for store in sorted(stores, key=lambda s: (len(eligible[s.id]), s.code)):
        candidates = eligible[store.id]
        if not candidates:
            plan.unscheduled.append(
                Unscheduled(store, (_("No eligible shopper: %(reasons)s",
                                          reasons=" ".join(reasons[store.id]))))
            )
            continue
        shopper = min(
            candidates,
            key=lambda u: (load[u.id], *workforce_rules.preference(workforce, u, store),
                           pair_count[(u.id, store.id)], u.username),
        )
        load[shopper.id] += 1
        plan.planned.append(
            Planned(store, shopper, next_visit_type(store, history.get(store.id, [])))
        )
    plan.planned.sort(key=lambda p: p.store.code)
    plan.unscheduled.sort(key=lambda u: u.store.code)
    return plan


def generate_month(month: str, user_id: int | None = None) -> Plan:
    """Create the month's missing visits. Returns the plan with ``created``."""
    plan = plan_month(month)
    if not plan.planned:
        return plan
    due = due_date_for(month)
    expires = datetime.combine(due, datetime.min.time()) + timedelta(days=1) + TOKEN_GRACE
    for p in plan.planned:
        visit = Visit(
            kind=MYSTERY, store=p.store, evaluator=p.shopper,
            questionnaire=plan.questionnaire, month=month, visit_type=p.visit_type,
            due_date=due, status=ASSIGNED, access_token=new_access_token(),
            token_expires_at=expires,
        )
        db.session.add(visit)
        plan.created.append(visit)
    db.session.flush()
    scenarios.assign_month(month, user_id)  # a share of the month carries a scenario (#24)
    payments.cap_new_assignments(plan.created, user_id)
    log_change(
        "schedule", month, "generate", user_id, None,
        {"created": [v.id for v in plan.created],
         "unscheduled": [u.store.code for u in plan.unscheduled]},
    )
    notifications.notify(notifications.ASSIGNMENT_ISSUED, plan.created)
    return plan


def reassign(visit: Visit, shopper: User, user_id: int | None = None) -> None:
    """Hand a not-yet-submitted visit to another eligible shopper (with a fresh link).

    The visit is locked first (``visit_states.lock``), so a submission at the same moment
    either went first (then the visit is refused: ``visit_states.TransitionError``) or
    waits and finds the old link dead. The new shopper starts from a clean visit: the
    previous shopper's draft, check-in (time and position) and photos are detached and
    written to the audit row (``before["detached"]``). The photo rows go; their files are
    kept in ``storage`` under the keys the audit row names: a file deleted here could not
    be brought back if the transaction then rolled back, and no view serves a file
    without its photo row."""
    visit = visit_states.lock(visit.id)
    if visit.kind != MYSTERY or visit.store is None:
        raise SchedulingError(_("Only mystery-shop visits of our stores are scheduled."))
    status = visit_states.move(visit, visit_states.REASSIGN)
    if shopper.id == visit.evaluator_id:
        raise SchedulingError(_("%(user)s already has this visit.", user=shopper.username))
    why = ineligibility(shopper, visit.store, visit.month,
                        questionnaire_code=visit.questionnaire.code)
    if why:
        raise SchedulingError(why)
    before = {"evaluator_id": visit.evaluator_id, "status": visit.status,
              "detached": _detach_evaluator_work(visit)}
    # the previous shopper learns that their link is dead (told before it changes hands)
    notifications.notify(notifications.VISIT_REASSIGNED_AWAY, visit)
    visit.evaluator = shopper
    visit.access_token = new_access_token()
    visit.status = status
    log_change("visit", visit.id, "reassign", user_id, before,
               {"evaluator_id": shopper.id, "status": status})
    notifications.notify(notifications.ASSIGNMENT_ISSUED, visit)


def _detach_evaluator_work(visit: Visit) -> dict:
    """Take the evaluator's unsent work off the visit (draft, check-in, photos, answers);
    returns what was taken, for the audit trail."""
    detached = {
        "draft": visit.draft,
        "checkin": None if visit.started_at is None else {
            "started_at": visit.started_at.isoformat(timespec="seconds"),
            "latitude": visit.checkin_latitude, "longitude": visit.checkin_longitude,
            "distance_m": visit.checkin_distance_m, "flagged": visit.location_flagged,
        },
        "photos": [
            {"id": p.id, "category": p.category, "item_id": p.item_id,
             "storage_key": p.storage_key, "thumb_key": p.thumb_key,
             "size_bytes": p.size_bytes, "created_at": p.created_at.isoformat()}
            for p in visit.photos
        ],
        "answers": len(visit.answers),
    }
    visit.draft = None
    visit.started_at = None
    visit.checkin_latitude = visit.checkin_longitude = visit.checkin_distance_m = None
    visit.location_flagged = False
    visit.photos.clear()
    visit.answers.clear()
    return detached
