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
from .i18n import SEVERITY_LABELS, label
from .models import MANAGER, Complaint, Notification, OutboxMessage, User, Visit, utcnow
from .models.followup import DISPUTE_UPHELD, Dispute
from .models.visit import QA

ASSIGNMENT_ISSUED = "assignment_issued"
VISIT_RETURNED = "visit_returned"
VISIT_RELEASED = "visit_released"
HOT_ALERT = "hot_alert"
DISPUTE_DECIDED = "dispute_decided"
COMPLAINT_RECORDED = "complaint_recorded"
PASSWORD_RESET = "password_reset"  # e-mail only (``send_email``), never in the inbox
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


def _visit_released(visit: Visit) -> Recipients:
    params = {**_visit_params(visit),
              "score": f"{visit.score:.1f}" if visit.score is not None else "–"}
    link = url_for("manager.visit", visit_id=visit.id)
    return [(m, dict(params), link) for m in _store_managers(visit.store_id)]


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
    """A month-end store report (``MonthEndPart``) is ready: its store's managers."""
    params = {"store": part.store.name if part.store else "", "month": part.run.month}
    link = url_for("manager.month_end_pdf", part_id=part.id)
    return [(m, dict(params), link) for m in _store_managers(part.store_id)]


RECIPIENTS: dict[str, Callable[[Any], Recipients]] = {
    REPORT_READY: _report_ready,
    ASSIGNMENT_ISSUED: _assignment_issued,
    VISIT_RETURNED: _visit_returned,
    VISIT_RELEASED: _visit_released,
    DISPUTE_DECIDED: _dispute_decided,
    COMPLAINT_RECORDED: _complaint_recorded,
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


def _tell(user: User, code: str, params: dict, link: str) -> None:
    if not user.active:
        return
    db.session.add(Notification(user_id=user.id, event=code, params=params, link=link))
    _write_email(user, code, params, link)


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
    languages = current_app.config.get("LANGUAGES", ("en", "zh_CN"))
    return user.locale if user.locale in languages else \
        current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


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
