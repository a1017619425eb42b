"""Deadlines: which assignments are due soon or overdue, HQ's bulk changes to them, and the
periodic checks that tell people what needs doing.

- An assignment still out in the field (assigned, in progress, returned) is **overdue**
  the day after its due date and **due soon** on its due date and the day before (within
  48 hours of the deadline, the end of the due date). The shopper's list and HQ's
  scheduling page mark them; ``counts`` gives HQ the numbers (in SQL).
- HQ **extends** (a new due date), **reassigns** (another shopper, a new link, the old
  one dead: ``scheduling.reassign``) or **cancels** (status ``cancelled``, link dead)
  assignments in bulk: the rows that can move move in the caller's one transaction, each
  with its audit row; the others are returned with the reason.
- ``run_periodic`` sends the reminders and escalations (see its docstring). Each notice
  given is recorded (``ReminderSent``, unique per event, subject and stamp) in the same
  transaction as its messages, so a second run sends nothing again and two runs at once
  cannot both send (the second one's insert fails and it rolls back).

Nothing here commits: ``flask notify run``, the RQ job (``jobs.periodic_job``) and the
views commit once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from . import notifications, scheduling, visit_states
from .audit import log_change
from .extensions import db
from .models import (
    HQ_ADMIN,
    Complaint,
    CorrectiveAction,
    MonthClosure,
    ReminderSent,
    Store,
    User,
    Visit,
    utcnow,
)
from .models.followup import ACTION_OPEN
from .models.visit import EDITABLE_STATUSES, MYSTERY
from .settings import get_setting

OVERDUE, DUE_SOON = "overdue", "due_soon"
#: Statuses in which an assignment still waits for its evaluator.
OPEN_STATUSES = EDITABLE_STATUSES
#: Due today or tomorrow: within 48 hours of the deadline (the end of the due date).
SOON_DAYS = 1
ESCALATION_KEY = "corrective_actions"
DEFAULT_ESCALATION_DAYS = 7


class BulkError(ValueError):
    """A bulk request that cannot be carried out at all (the message says why)."""


def deadline_state(due: date | None, status: str, today: date | None = None) -> str | None:
    """``overdue``, ``due_soon`` or None for an assignment due ``due`` in ``status``."""
    if due is None or status not in OPEN_STATUSES:
        return None
    days_left = (due - (today or date.today())).days
    if days_left < 0:
        return OVERDUE
    if days_left <= SOON_DAYS:
        return DUE_SOON
    return None


def visit_deadline(visit: Visit, today: date | None = None) -> str | None:
    return deadline_state(visit.due_date, visit.status, today)


def is_late(visit: Visit, today: date | None = None) -> bool:
    """Whether a submission today comes after the visit's due date."""
    return visit.due_date is not None and (today or date.today()) > visit.due_date


def counts(today: date | None = None) -> dict[str, int]:
    """How many mystery-shop assignments (any month) are overdue and due soon."""
    today = today or date.today()
    soon = today + timedelta(days=SOON_DAYS)
    overdue, due_soon = db.session.execute(
        select(func.coalesce(func.sum(case((Visit.due_date < today, 1), else_=0)), 0),
               func.coalesce(func.sum(case((Visit.due_date.between(today, soon), 1),
                                           else_=0)), 0))
        .where(Visit.kind == MYSTERY, Visit.status.in_(OPEN_STATUSES),
               Visit.due_date.is_not(None))
    ).one()
    return {OVERDUE: int(overdue), DUE_SOON: int(due_soon)}


def open_assignments(month: str, today: date | None = None) -> list[Visit]:
    """The mystery-shop assignments HQ may act on in bulk from the month's page: the
    month's open ones and every overdue or due-soon one of other months, earliest due
    first."""
    today = today or date.today()
    soon = today + timedelta(days=SOON_DAYS)
    return list(db.session.scalars(
        select(Visit).join(Store, Visit.store_id == Store.id)
        .where(Visit.kind == MYSTERY, Visit.status.in_(OPEN_STATUSES),
               (Visit.month == month) | (Visit.due_date <= soon))
        .order_by(Visit.due_date, Store.code, Visit.id)
    ))


# --- bulk changes ---------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[Visit] = field(default_factory=list)
    #: (visit or its id, why it did not move)
    refused: list[tuple[Visit | int, str]] = field(default_factory=list)


def _visits(ids: list[int], result: BulkResult) -> list[Visit]:
    found = []
    for visit_id in sorted(set(ids)):
        visit = db.session.get(Visit, visit_id)
        if visit is None or visit.kind != MYSTERY or visit.store is None:
            result.refused.append((visit_id, _("No such assignment.")))
        else:
            found.append(visit)
    return found


def _token_expiry(due: date) -> datetime:
    return datetime.combine(due, datetime.min.time()) + timedelta(days=1) \
        + scheduling.TOKEN_GRACE


def bulk_extend(ids: list[int], due: date, user_id: int | None,
                today: date | None = None) -> BulkResult:
    """Give the assignments ``ids`` the new due date ``due`` (not in the past); their
    links keep working until then (plus the usual grace)."""
    today = today or date.today()
    if due < today:
        raise BulkError(_("The new due date cannot be in the past."))
    result = BulkResult()
    for visit in _visits(ids, result):
        visit = visit_states.lock(visit.id)
        try:
            visit_states.move(visit, visit_states.EXTEND)
        except visit_states.TransitionError as error:
            result.refused.append((visit, str(error)))
            continue
        if visit.due_date == due:
            result.refused.append((visit, _("Already due on %(date)s.", date=due.isoformat())))
            continue
        before = {"due_date": visit.due_date.isoformat() if visit.due_date else None}
        visit.due_date = due
        expiry = _token_expiry(due)
        if visit.token_expires_at is None or visit.token_expires_at < expiry:
            visit.token_expires_at = expiry
        log_change("visit", visit.id, "extend", user_id, before, {"due_date": due.isoformat()})
        notifications.notify(notifications.ASSIGNMENT_EXTENDED, visit)
        result.done.append(visit)
    return result


def bulk_reassign(ids: list[int], shopper: User, user_id: int | None) -> BulkResult:
    """Hand the assignments ``ids`` to ``shopper`` (each through ``scheduling.reassign``:
    a new link, the old one dead, the previous shopper told)."""
    result = BulkResult()
    for visit in _visits(ids, result):
        try:
            scheduling.reassign(visit, shopper, user_id)
        except (scheduling.SchedulingError, visit_states.TransitionError) as error:
            result.refused.append((visit, str(error)))
        else:
            result.done.append(visit)
    return result


def bulk_cancel(ids: list[int], user_id: int | None) -> BulkResult:
    """Cancel the assignments ``ids`` not yet submitted: kept for the record, never
    counted, their link dead; the shopper is told."""
    result = BulkResult()
    for visit in _visits(ids, result):
        visit = visit_states.lock(visit.id)
        try:
            status = visit_states.move(visit, visit_states.CANCEL)
        except visit_states.TransitionError as error:
            result.refused.append((visit, str(error)))
            continue
        before = {"status": visit.status, "evaluator_id": visit.evaluator_id}
        visit.status = status
        visit.access_token = None
        log_change("visit", visit.id, "cancel", user_id, before, {"status": status})
        notifications.notify(notifications.ASSIGNMENT_CANCELLED, visit)
        result.done.append(visit)
    return result


# --- the periodic checks ----------------------------------------------------------------------


def escalation_days(month: str | None = None) -> int:
    """Days after its due date when an open corrective action is escalated to HQ (the
    effective-dated setting ``corrective_actions.escalate_after_days`` for ``month``)."""
    value = get_setting(ESCALATION_KEY, month).get("escalate_after_days",
                                                   DEFAULT_ESCALATION_DAYS)
    return max(0, int(value))


class _Given:
    """The notices of one event already given (``ReminderSent``), and recording new ones."""

    def __init__(self, event: str, kind: str) -> None:
        self.event, self.kind = event, kind
        self.keys = set(db.session.execute(
            select(ReminderSent.subject_key, ReminderSent.stamp)
            .where(ReminderSent.event == event, ReminderSent.subject_kind == kind)).all())

    def first_time(self, key: object, stamp: str = "") -> bool:
        """True (and recorded) if this notice was never given; False if it was."""
        pair = (str(key), stamp)
        if pair in self.keys:
            return False
        self.keys.add(pair)
        db.session.add(ReminderSent(event=self.event, subject_kind=self.kind,
                                    subject_key=pair[0], stamp=stamp))
        return True


def _hq() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == HQ_ADMIN, User.active.is_(True)).order_by(User.id)))


def run_periodic(now: datetime | None = None) -> dict[str, int]:
    """Give every notice that is due and was not given yet; returns how many per event.

    - an assignment due within 48 h: its evaluator (once per due date and evaluator);
    - an assignment overdue: its evaluator, and HQ in one list per run;
    - a corrective action due within 48 h, then overdue: the store's managers;
    - a corrective action still open ``escalation_days`` after its due date: HQ;
    - a complaint unresolved past the overdue limit: HQ;
    - a past month whose visits are all reviewed, with no open dispute, not yet closed: HQ.

    ``now`` is UTC (default: now); dates compare with its date."""
    now = now or utcnow()
    today = now.date()
    soon = today + timedelta(days=SOON_DAYS)
    sent: dict[str, int] = {}

    def count(event: str, n: int = 1) -> None:
        sent[event] = sent.get(event, 0) + n

    with notifications._url_context():
        hq = _hq()
        # assignments
        due_soon = _Given(notifications.ASSIGNMENT_DUE_SOON, "visit")
        overdue = _Given(notifications.ASSIGNMENT_OVERDUE, "visit")
        overdue_hq = _Given(notifications.ASSIGNMENTS_OVERDUE_HQ, "visit")
        newly_overdue: list[Visit] = []
        for visit in db.session.scalars(
            select(Visit).where(Visit.status.in_(OPEN_STATUSES), Visit.due_date <= soon,
                                Visit.evaluator_id.is_not(None))
            .order_by(Visit.due_date, Visit.id)
        ):
            stamp = f"{visit.due_date.isoformat()}:{visit.evaluator_id}"
            params = {**notifications._visit_params(visit), "due": visit.due_date.isoformat()}
            link = notifications._evaluator_link(visit)
            if visit.due_date >= today:
                if due_soon.first_time(visit.id, stamp):
                    notifications.tell([visit.evaluator], notifications.ASSIGNMENT_DUE_SOON,
                                       params, link)
                    count(notifications.ASSIGNMENT_DUE_SOON)
                continue
            if overdue.first_time(visit.id, stamp):
                notifications.tell([visit.evaluator], notifications.ASSIGNMENT_OVERDUE,
                                   params, link)
                count(notifications.ASSIGNMENT_OVERDUE)
            if overdue_hq.first_time(visit.id, visit.due_date.isoformat()):
                newly_overdue.append(visit)
        if newly_overdue and hq:
            listed = [f"{f'{v.store.code} ' if v.store else ''}{v.place_name} "
                      f"({v.month}, {v.due_date.isoformat()}, "
                      f"{v.evaluator.pseudonym if v.evaluator else '–'})"
                      for v in newly_overdue]
            notifications.tell(hq, notifications.ASSIGNMENTS_OVERDUE_HQ,
                               {"count": len(listed), "visits": listed},
                               url_for("hq.scheduling"))
            count(notifications.ASSIGNMENTS_OVERDUE_HQ)

        # corrective actions
        action_soon = _Given(notifications.ACTION_DUE_SOON, "action")
        action_late = _Given(notifications.ACTION_OVERDUE, "action")
        escalated = _Given(notifications.ACTION_ESCALATED, "action")
        delay = escalation_days(f"{today:%Y-%m}")
        for row in db.session.scalars(
            select(CorrectiveAction).where(CorrectiveAction.status == ACTION_OPEN,
                                           CorrectiveAction.due_date <= soon)
            .order_by(CorrectiveAction.due_date, CorrectiveAction.id)
        ):
            store = row.visit.store
            if store is None:
                continue
            stamp = row.due_date.isoformat()
            params = {"store": store.name, "action": row.action, "due": stamp}
            managers = notifications._store_managers(store.id)
            if row.due_date >= today:
                if action_soon.first_time(row.id, stamp):
                    notifications.tell(managers, notifications.ACTION_DUE_SOON, params,
                                       url_for("manager.actions"))
                    count(notifications.ACTION_DUE_SOON)
                continue
            if action_late.first_time(row.id, stamp):
                notifications.tell(managers, notifications.ACTION_OVERDUE, params,
                                   url_for("manager.actions"))
                count(notifications.ACTION_OVERDUE)
            days_late = (today - row.due_date).days
            if days_late >= delay and escalated.first_time(row.id, stamp):
                notifications.tell(hq, notifications.ACTION_ESCALATED,
                                   {**params, "days": days_late}, url_for("hq.actions"))
                count(notifications.ACTION_ESCALATED)

        # complaints
        from .complaints import overdue_limit

        late_complaints = _Given(notifications.COMPLAINT_OVERDUE, "complaint")
        for complaint in db.session.scalars(
            select(Complaint).where(Complaint.resolved_at.is_(None),
                                    Complaint.received_at < overdue_limit(now))
            .order_by(Complaint.received_at, Complaint.id)
        ):
            if late_complaints.first_time(complaint.id):
                notifications.tell(
                    hq, notifications.COMPLAINT_OVERDUE,
                    {"store": complaint.store.name, "severity": complaint.severity,
                     "received": f"{complaint.received_on.isoformat()}"},
                    url_for("hq.complaint_detail", complaint_id=complaint.id))
                count(notifications.COMPLAINT_OVERDUE)

        # months ready to close
        ready = _Given(notifications.MONTH_READY_TO_CLOSE, "month")
        for month in months_ready_to_close(today):
            if ready.first_time(month):
                notifications.tell(hq, notifications.MONTH_READY_TO_CLOSE, {"month": month},
                                   url_for("hq.months"))
                count(notifications.MONTH_READY_TO_CLOSE)
    db.session.flush()
    return sent


def months_ready_to_close(today: date | None = None) -> list[str]:
    """Past months, not closed, with visits, every one of them reviewed (none awaiting
    review or still out in the field) and no open dispute."""
    from .analytics import Period
    from .months import pending

    today = today or date.today()
    current = f"{today:%Y-%m}"
    closed = select(MonthClosure.month)
    candidates = db.session.scalars(
        select(Visit.month).where(Visit.month < current, Visit.month.not_in(closed))
        .group_by(Visit.month).order_by(Visit.month)
    ).all()
    out = []
    for month in candidates:
        state = pending(Period.month(month), today)
        if state.can_close and not state.not_submitted:
            out.append(month)
    return out


__all__ = ["DUE_SOON", "OVERDUE", "BulkError", "BulkResult", "bulk_cancel", "bulk_extend",
           "bulk_reassign", "counts", "deadline_state", "escalation_days", "is_late",
           "months_ready_to_close", "open_assignments", "run_periodic", "visit_deadline"]
