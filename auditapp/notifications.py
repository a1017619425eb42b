"""Who is told what: the events, their recipients, the inbox and the e-mail outbox.

A service announces a change with one call at the point of change::

    notifications.notify(notifications.VISIT_RELEASED, visit)

``notify`` finds the event's recipients, writes one inbox line (``Notification``) for each
and, for those with an e-mail address, one ``OutboxMessage`` rendered in their language
(plain text and HTML, with the link to act on). Both are written in the caller's
transaction, so they exist exactly when the change does; nothing is sent here. After the
commit, ``jobs.py`` sends the new messages from the job queue (RQ, or in-process without
Redis) and retries failures (see ``jobs.deliver_mail``).

Store managers are told about their stores' audits; nothing written to them names or
hints at the shopper (no pseudonym, no name, no check-in details).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from .extensions import db
from .i18n import SEVERITY_LABELS, label, language_code
from .models import (
    MANAGER,
    Complaint,
    Notification,
    NotificationPreference,
    OutboxMessage,
    User,
    Visit,
    utcnow,
)
from .models.followup import DISPUTE_UPHELD, Dispute
from .models.visit import QA

ASSIGNMENT_ISSUED = "assignment_issued"
VISIT_RETURNED = "visit_returned"
VISIT_RELEASED = "visit_released"
HOT_ALERT = "hot_alert"
DISPUTE_DECIDED = "dispute_decided"
COMPLAINT_RECORDED = "complaint_recorded"
PASSWORD_RESET = "password_reset"  # e-mail only (``send_email``), never in the inbox
VISIT_REJECTED = "visit_rejected"
VISIT_REASSIGNED_AWAY = "visit_reassigned_away"
ASSIGNMENT_CANCELLED = "assignment_cancelled"
ASSIGNMENT_EXTENDED = "assignment_extended"
# the periodic checks (``deadlines.run_periodic``)
ASSIGNMENT_DUE_SOON = "assignment_due_soon"
ASSIGNMENT_OVERDUE = "assignment_overdue"
ASSIGNMENTS_OVERDUE_HQ = "assignments_overdue_hq"
ACTION_DUE_SOON = "action_due_soon"
ACTION_OVERDUE = "action_overdue"
ACTION_ESCALATED = "action_escalated"
COMPLAINT_OVERDUE = "complaint_overdue"
MONTH_READY_TO_CLOSE = "month_ready_to_close"

#: Events nobody can turn off: without them the work cannot be done (or the account
#: cannot be recovered). Every other event is optional, per user, by e-mail and inbox.
MANDATORY_EVENTS = frozenset({ASSIGNMENT_ISSUED, PASSWORD_RESET, VISIT_REASSIGNED_AWAY,
                              ASSIGNMENT_CANCELLED})
REPORT_READY = "report_ready"  # a closed month's store report (month-end run, issue #22)

#: Where ``notify`` keeps the ids of the messages written in the current transaction
#: (``session.info``), for ``jobs`` to send after the commit.
NEW_MESSAGES = "auditapp_new_outbox_ids"


@dataclass(frozen=True)
class Event:
    """One kind of notification. ``subject`` and ``body`` take the params and run in the
    reader's locale."""

    code: str
    subject: Callable[[dict], str]
    body: Callable[[dict], str]
    action: Callable[[dict], str]


EVENTS: dict[str, Event] = {e.code: e for e in (
    Event(
        ASSIGNMENT_ISSUED,
        lambda p: _("New assignment: %(store)s", store=p["store"]),
        lambda p: _("You have a new mystery-shop visit to %(store)s for %(month)s. "
                    "Please visit by %(due)s.", store=p["store"], month=p["month"],
                    due=p["due"] or "–"),
        lambda p: _("Open the assignment"),
    ),
    Event(
        VISIT_RETURNED,
        lambda p: _("Visit returned for correction: %(store)s", store=p["store"]),
        lambda p: _("Your visit to %(store)s (%(month)s) was returned for correction. "
                    "Reason: %(reason)s", store=p["store"], month=p["month"],
                    reason=p["reason"]),
        lambda p: _("Correct the visit"),
    ),
    Event(
        VISIT_RELEASED,
        lambda p: _("Audit released: %(store)s, %(month)s", store=p["store"],
                    month=p["month"]),
        lambda p: _("The mystery-shop audit of %(store)s for %(month)s has been released. "
                    "Score: %(score)s.", store=p["store"], month=p["month"],
                    score=p["score"]),
        lambda p: _("See the audit"),
    ),
    Event(
        HOT_ALERT,
        lambda p: _("Hot alert: critical item failed at %(store)s", store=p["store"]),
        lambda p: _("The audit of %(store)s for %(month)s has been released with a failed "
                    "critical item (%(items)s). Score: %(score)s. Please act on it now.",
                    store=p["store"], month=p["month"], score=p["score"],
                    items=", ".join(p["items_zh" if _is_zh() else "items"])),
        lambda p: _("See the audit"),
    ),
    Event(
        DISPUTE_DECIDED,
        lambda p: _("Dispute decided: %(store)s, %(month)s", store=p["store"],
                    month=p["month"]),
        lambda p: (_("Your dispute of \"%(item)s\" (%(store)s, %(month)s) was upheld. "
                     "Note: %(note)s", **_dispute_values(p)) if p["upheld"] else
                   _("Your dispute of \"%(item)s\" (%(store)s, %(month)s) was rejected. "
                     "Note: %(note)s", **_dispute_values(p))),
        lambda p: _("See the audit"),
    ),
    Event(
        COMPLAINT_RECORDED,
        lambda p: _("Customer complaint recorded: %(store)s", store=p["store"]),
        lambda p: _("A customer complaint about %(store)s was recorded (severity: "
                    "%(severity)s). Please follow it up.", store=p["store"],
                    severity=label(SEVERITY_LABELS, p["severity"])),
        lambda p: _("See the store"),
    ),
    Event(
        VISIT_REJECTED,
        lambda p: _("Visit rejected: %(store)s", store=p["store"]),
        lambda p: _("Your visit to %(store)s (%(month)s) was rejected by head office and "
                    "will not count. Reason: %(reason)s", store=p["store"], month=p["month"],
                    reason=p["reason"]),
        lambda p: _("See my assignments"),
    ),
    Event(
        VISIT_REASSIGNED_AWAY,
        lambda p: _("Assignment withdrawn: %(store)s", store=p["store"]),
        lambda p: _("Your visit to %(store)s (%(month)s) has been given to another shopper. "
                    "Its link no longer works: please do not make this visit.",
                    store=p["store"], month=p["month"]),
        lambda p: _("See my assignments"),
    ),
    Event(
        ASSIGNMENT_CANCELLED,
        lambda p: _("Assignment cancelled: %(store)s", store=p["store"]),
        lambda p: _("Your visit to %(store)s (%(month)s) has been cancelled by head office. "
                    "Its link no longer works: please do not make this visit.",
                    store=p["store"], month=p["month"]),
        lambda p: _("See my assignments"),
    ),
    Event(
        ASSIGNMENT_EXTENDED,
        lambda p: _("New due date: %(store)s", store=p["store"]),
        lambda p: _("Your visit to %(store)s (%(month)s) is now due by %(due)s.",
                    store=p["store"], month=p["month"], due=p["due"]),
        lambda p: _("Open the assignment"),
    ),
    Event(
        ASSIGNMENT_DUE_SOON,
        lambda p: _("Reminder: visit to %(store)s due %(due)s", store=p["store"],
                    due=p["due"]),
        lambda p: _("Your visit to %(store)s (%(month)s) is due by %(due)s. Please make "
                    "the visit and submit the form in time.", store=p["store"],
                    month=p["month"], due=p["due"]),
        lambda p: _("Open the assignment"),
    ),
    Event(
        ASSIGNMENT_OVERDUE,
        lambda p: _("Overdue: visit to %(store)s", store=p["store"]),
        lambda p: _("Your visit to %(store)s (%(month)s) was due by %(due)s and has not "
                    "been submitted. Please submit it now, or tell head office why.",
                    store=p["store"], month=p["month"], due=p["due"]),
        lambda p: _("Open the assignment"),
    ),
    Event(
        ASSIGNMENTS_OVERDUE_HQ,
        lambda p: _("%(count)s assignment(s) overdue", count=p["count"]),
        lambda p: _("These assignments are past their due date and not submitted: "
                    "%(visits)s. Extend, reassign or cancel them on the scheduling page.",
                    visits="; ".join(p["visits"])),
        lambda p: _("Open the schedule"),
    ),
    Event(
        ACTION_DUE_SOON,
        lambda p: _("Corrective action due %(due)s: %(store)s", store=p["store"],
                    due=p["due"]),
        lambda p: _("The corrective action \"%(action)s\" at %(store)s is due by %(due)s.",
                    action=p["action"], store=p["store"], due=p["due"]),
        lambda p: _("See the corrective actions"),
    ),
    Event(
        ACTION_OVERDUE,
        lambda p: _("Corrective action overdue: %(store)s", store=p["store"]),
        lambda p: _("The corrective action \"%(action)s\" at %(store)s was due by %(due)s "
                    "and is not done yet. If it stays open it is escalated to head office.",
                    action=p["action"], store=p["store"], due=p["due"]),
        lambda p: _("See the corrective actions"),
    ),
    Event(
        ACTION_ESCALATED,
        lambda p: _("Escalated: corrective action overdue at %(store)s", store=p["store"]),
        lambda p: _("The corrective action \"%(action)s\" at %(store)s was due by %(due)s "
                    "and is still open %(days)s day(s) later.", action=p["action"],
                    store=p["store"], due=p["due"], days=p["days"]),
        lambda p: _("See the corrective actions"),
    ),
    Event(
        COMPLAINT_OVERDUE,
        lambda p: _("Complaint overdue: %(store)s", store=p["store"]),
        lambda p: _("A customer complaint about %(store)s (severity: %(severity)s) received "
                    "%(received)s is still not resolved.", store=p["store"],
                    severity=label(SEVERITY_LABELS, p["severity"]), received=p["received"]),
        lambda p: _("See the complaint"),
    ),
    Event(
        MONTH_READY_TO_CLOSE,
        lambda p: _("%(month)s is ready to close", month=p["month"]),
        lambda p: _("Every visit of %(month)s has been reviewed and no dispute is open: "
                    "the month can be closed.", month=p["month"]),
        lambda p: _("Close the month"),
    ),
    Event(
        PASSWORD_RESET,
        lambda p: _("Reset your password"),
        lambda p: _("Someone, hopefully you, asked to reset the password of the account "
                    "%(username)s. The link below works once, within %(minutes)s minutes. "
                    "If it was not you, ignore this message: your password stays as it is.",
                    username=p["username"], minutes=p["minutes"]),
        lambda p: _("Choose a new password"),
    ),
    Event(
        REPORT_READY,
        lambda p: _("Monthly report ready: %(store)s, %(month)s", store=p["store"],
                    month=p["month"]),
        lambda p: _("The monthly report of %(store)s for %(month)s is ready.",
                    store=p["store"], month=p["month"]),
        lambda p: _("Download the report"),
    ),
)}


def _is_zh() -> bool:
    from flask_babel import get_locale

    return str(get_locale() or "en").startswith("zh")


def _dispute_values(p: dict) -> dict:
    item = p["item_zh"] if _is_zh() and p.get("item_zh") else p["item"]
    return {"item": item, "store": p["store"], "month": p["month"], "note": p["note"]}


# --- who is told what (one function per event) ---------------------------------------------


Recipients = list[tuple[User, dict, str]]  # (recipient, params, link path)


def _visit_params(visit: Visit) -> dict:
    return {"visit_id": visit.id, "store": visit.place_name, "month": visit.month}


def _evaluator_link(visit: Visit) -> str:
    if visit.kind == QA:
        return url_for("hq.qa_visit", visit_id=visit.id)
    if visit.access_token:
        return url_for("shopper.token_form", token=visit.access_token)
    return url_for("shopper.visit_form", visit_id=visit.id)


def _store_managers(store_id: int | None) -> list[User]:
    """The store managers of a store (never anyone on the shopper's side)."""
    if store_id is None:
        return []
    from .models import store_managers

    return list(db.session.scalars(
        select(User).join(store_managers, store_managers.c.user_id == User.id)
        .where(store_managers.c.store_id == store_id, User.role == MANAGER)
        .order_by(User.id)
    ))


def _assignment_issued(visit: Visit) -> Recipients:
    params = {**_visit_params(visit),
              "due": visit.due_date.isoformat() if visit.due_date else ""}
    return [(visit.evaluator, params, _evaluator_link(visit))] if visit.evaluator else []


def _visit_returned(visit: Visit) -> Recipients:
    params = {**_visit_params(visit), "reason": visit.return_reason}
    return [(visit.evaluator, params, _evaluator_link(visit))] if visit.evaluator else []


def _failed_critical_items(visit: Visit) -> list:
    return [a.item for a in visit.answers
            if a.item.critical and not a.voided and not a.na and a.score == 0]


def _area_managers(store_id: int | None) -> list[User]:
    """The area managers of the store's region."""
    if store_id is None:
        return []
    from .models import AREA_MANAGER, Store, area_manager_regions

    return list(db.session.scalars(
        select(User).join(area_manager_regions, area_manager_regions.c.user_id == User.id)
        .join(Store, Store.region_id == area_manager_regions.c.region_id)
        .where(Store.id == store_id, User.role == AREA_MANAGER).order_by(User.id)
    ))


def _visit_released(visit: Visit) -> Recipients:
    params = {**_visit_params(visit),
              "score": f"{visit.score:.1f}" if visit.score is not None else "–"}
    link = url_for("manager.visit", visit_id=visit.id)
    people = _store_managers(visit.store_id) + _area_managers(visit.store_id)
    return [(m, dict(params), link) for m in people]


def _visit_rejected(visit: Visit) -> Recipients:
    params = {**_visit_params(visit), "reason": visit.return_reason}
    return [(visit.evaluator, params, _evaluator_home(visit))] if visit.evaluator else []


def _evaluator_home(visit: Visit) -> str:
    return url_for("hq.qa_index") if visit.kind == QA else url_for("shopper.index")


def _assignment_withdrawn(visit: Visit) -> Recipients:
    """The evaluator the visit was taken from (``visit.evaluator`` still names them)."""
    return [(visit.evaluator, _visit_params(visit), _evaluator_home(visit))] \
        if visit.evaluator else []


def _assignment_extended(visit: Visit) -> Recipients:
    params = {**_visit_params(visit),
              "due": visit.due_date.isoformat() if visit.due_date else ""}
    return [(visit.evaluator, params, _evaluator_link(visit))] if visit.evaluator else []


def _dispute_decided(dispute: Dispute) -> Recipients:
    filer = db.session.get(User, dispute.created_by_id) if dispute.created_by_id else None
    if filer is None:
        return []
    item = dispute.answer.item
    params = {**_visit_params(dispute.visit), "item": item.text,
              "item_zh": item.text_zh or item.text, "upheld": dispute.status == DISPUTE_UPHELD,
              "note": dispute.decision_note}
    return [(filer, params, url_for("manager.visit", visit_id=dispute.visit_id))]


def _complaint_recorded(complaint: Complaint) -> Recipients:
    params = {"store": complaint.store.name, "severity": complaint.severity}
    link = url_for("manager.store", store_id=complaint.store_id)
    return [(m, dict(params), link) for m in _store_managers(complaint.store_id)]


def _report_ready(part) -> Recipients:
    """A month-end store report (``MonthEndPart``) is ready: its store's managers who read
    its language — the run's report also goes to those whose language the run has no
    report of (``month_end.plan`` builds one per manager's language)."""
    from .models import MonthEndPart

    language = part.locale or language_code(part.run.locale)
    built = set(db.session.scalars(select(MonthEndPart.locale).where(
        MonthEndPart.run_id == part.run_id, MonthEndPart.kind == part.kind,
        MonthEndPart.store_id == part.store_id, MonthEndPart.locale.is_not(None))))
    params = {"store": part.store.name if part.store else "", "month": part.run.month}
    link = url_for("manager.month_end_pdf", part_id=part.id)
    return [(m, dict(params), link) for m in _store_managers(part.store_id)
            if _locale_of(m) == language
            or (part.locale is None and _locale_of(m) not in built)]


RECIPIENTS: dict[str, Callable[[Any], Recipients]] = {
    REPORT_READY: _report_ready,
    ASSIGNMENT_ISSUED: _assignment_issued,
    VISIT_RETURNED: _visit_returned,
    VISIT_RELEASED: _visit_released,
    DISPUTE_DECIDED: _dispute_decided,
    COMPLAINT_RECORDED: _complaint_recorded,
    VISIT_REJECTED: _visit_rejected,
    VISIT_REASSIGNED_AWAY: _assignment_withdrawn,
    ASSIGNMENT_CANCELLED: _assignment_withdrawn,
    ASSIGNMENT_EXTENDED: _assignment_extended,
}


# --- announcing --------------------------------------------------------------------------


def notify(event: str, subject: Any | Iterable[Any]) -> None:
    """Announce ``event`` about ``subject`` (a visit, a dispute, … or a list of them) to
    its recipients: inbox lines and outbox messages in the current transaction. A released
    visit with a failed critical item is announced as a hot alert instead."""
    subjects = list(subject) if isinstance(subject, list | tuple) else [subject]
    if not subjects:
        return
    with _url_context():
        for one in subjects:
            code = event
            recipients = RECIPIENTS[event](one)
            if event == VISIT_RELEASED and recipients:
                failed = _failed_critical_items(one)
                if failed:
                    code = HOT_ALERT
                    for _user, params, _link in recipients:
                        params["items"] = [i.text for i in failed]
                        params["items_zh"] = [i.text_zh or i.text for i in failed]
            for user, params, link in recipients:
                _tell(user, code, params, link)
    db.session.flush()
    written = db.session.info.pop(_WRITTEN, [])
    db.session.info.setdefault(NEW_MESSAGES, []).extend(m.id for m in written)


_WRITTEN = "auditapp_outbox_written"


def tell(users: Iterable[User], code: str, params: dict, link: str) -> None:
    """Announce ``code`` to ``users`` directly (the periodic checks know their recipients):
    inbox lines and outbox messages in the current transaction, like ``notify``."""
    with _url_context():
        for user in users:
            _tell(user, code, dict(params), link)
    db.session.flush()
    written = db.session.info.pop(_WRITTEN, [])
    db.session.info.setdefault(NEW_MESSAGES, []).extend(m.id for m in written)


def _tell(user: User, code: str, params: dict, link: str) -> None:
    if not user.active:
        return
    by_email, in_inbox = channels(user, code)
    if in_inbox:
        db.session.add(Notification(user_id=user.id, event=code, params=params, link=link))
    if by_email:
        _write_email(user, code, params, link)


# --- preferences --------------------------------------------------------------------------


def channels(user: User, code: str) -> tuple[bool, bool]:
    """(by e-mail, in the inbox) for ``user`` and event ``code``: both unless the user
    turned an optional event off (mandatory events always go both ways)."""
    if code in MANDATORY_EVENTS:
        return True, True
    pref = db.session.get(NotificationPreference, (user.id, code))
    return (True, True) if pref is None else (pref.email, pref.inbox)


#: The optional events each role may receive (what "My account" offers to turn off).
_SHOPPER_EVENTS = (ASSIGNMENT_DUE_SOON, ASSIGNMENT_OVERDUE, ASSIGNMENT_EXTENDED,
                   VISIT_RETURNED, VISIT_REJECTED)
_STORE_EVENTS = (VISIT_RELEASED, HOT_ALERT, DISPUTE_DECIDED, COMPLAINT_RECORDED,
                 ACTION_DUE_SOON, ACTION_OVERDUE)
OPTIONAL_BY_ROLE: dict[str, tuple[str, ...]] = {
    "shopper": _SHOPPER_EVENTS,
    "qa_auditor": _SHOPPER_EVENTS,
    "manager": _STORE_EVENTS,
    "area_manager": (VISIT_RELEASED, HOT_ALERT),
    "hq_admin": (ASSIGNMENTS_OVERDUE_HQ, ACTION_ESCALATED, COMPLAINT_OVERDUE,
                 MONTH_READY_TO_CLOSE),
}


def preferences(user: User) -> list[tuple[str, str, bool, bool]]:
    """(event, its name in the current locale, by e-mail, in the inbox) for each optional
    event of the user's role."""
    from .i18n import NOTIFICATION_EVENT_LABELS

    return [(code, str(NOTIFICATION_EVENT_LABELS.get(code, code)), *channels(user, code))
            for code in OPTIONAL_BY_ROLE.get(user.role, ())]


def save_preferences(user: User, choices: dict[str, tuple[bool, bool]]) -> None:
    """Store the user's choices (event → (by e-mail, in the inbox)) for the optional
    events of their role; anything else is ignored (mandatory events stay on)."""
    from .audit import log_change

    allowed = OPTIONAL_BY_ROLE.get(user.role, ())
    before, after = {}, {}
    for code in allowed:
        email, inbox = choices.get(code, (False, False))
        row = db.session.get(NotificationPreference, (user.id, code))
        old = (True, True) if row is None else (row.email, row.inbox)
        if old == (email, inbox):
            continue
        if row is None:
            row = NotificationPreference(user_id=user.id, event=code)
            db.session.add(row)
        row.email, row.inbox = email, inbox
        before[code], after[code] = list(old), [email, inbox]
    if after:
        log_change("user", user.id, "notification_preferences", user.id, before, after)


def _write_email(user: User, code: str, params: dict, link: str) -> None:
    if not user.email:
        return
    message = render_message(code, params, link, _locale_of(user))
    message.user_id, message.to_address = user.id, user.email
    db.session.add(message)
    db.session.info.setdefault(_WRITTEN, []).append(message)


def send_email(user: User, code: str, params: dict, link: str) -> None:
    """An e-mail only (no inbox line) to ``user``, sent after the commit like the others."""
    with _url_context():
        _write_email(user, code, params, link)
    db.session.flush()
    written = db.session.info.pop(_WRITTEN, [])
    db.session.info.setdefault(NEW_MESSAGES, []).extend(m.id for m in written)


def _locale_of(user: User) -> str:
    return language_code(user.locale)


def absolute(link: str) -> str:
    base = current_app.config.get("BASE_URL") or ""
    if has_request_context() and not base:
        from flask import request

        base = request.host_url
    return base.rstrip("/") + link


def render_message(code: str, params: dict, link: str, locale: str) -> OutboxMessage:
    """The e-mail for one recipient, in ``locale``: subject, plain text and HTML."""
    event = EVENTS[code]
    with force_locale(locale):
        subject, body, action = event.subject(params), event.body(params), event.action(params)
        url = absolute(link)
        brand = current_app.config.get("BRAND_NAME", "auditapp")
        text = render_template("email/message.txt", body=body, action=action, url=url,
                               brand=brand)
        html = render_template("email/message.html", subject=subject, body=body,
                               action=action, url=url, brand=brand,
                               lang="zh-CN" if locale.startswith("zh") else "en")
    return OutboxMessage(event=code, subject=f"[{brand}] {subject}", text_body=text,
                         html_body=html)


class _url_context:
    """``url_for`` needs a request: outside one (CLI, jobs) use ``BASE_URL``."""

    def __enter__(self):
        self._ctx = None
        if not has_request_context():
            self._ctx = current_app.test_request_context(
                base_url=current_app.config.get("BASE_URL") or "http://localhost/")
            self._ctx.push()
        return self

    def __exit__(self, *exc) -> None:
        if self._ctx is not None:
            self._ctx.pop()


# --- the inbox ----------------------------------------------------------------------------


def text_of(note: Notification) -> tuple[str, str]:
    """(title, text) of an inbox line, in the current locale."""
    event = EVENTS.get(note.event)
    if event is None:
        return note.event, ""
    return event.subject(note.params or {}), event.body(note.params or {})


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def inbox(user: User, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ))


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of ``user``'s notifications (or all of them) read; returns how many."""
    query = update(Notification).where(Notification.user_id == user.id,
                                       Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return db.session.execute(query.values(read_at=utcnow())).rowcount
