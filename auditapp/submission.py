"""Filling in a visit: check-in, drafts and the submission (validate → save answers →
score → status), shared by the HTML form, the QA audit form and the JSON API.

A payload, whatever it comes from, looks like::

    {"client_submission_id": "…",
     "answers": {"<item id>": {"value": 1, "na": false, "comment": ""}, …},
     "facts": {"visit_date": "2026-05-10", "arrival_time": "12:30",
               "visit_type_confirmed": true, "order_description": "…",
               "receipt_total": 35.5, "overall_comment": "…", "loyalty": 8}}

(``loyalty``: the optional 0–10 "would you come back / recommend" answer, ``loyalty.py``.)
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, null, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from . import integrity, integrity_questions, item_types, loyalty, scenarios, visit_states
from .audit import log_change
from .extensions import db
from .geo import haversine_m
from .inputs import text_problem
from .models import Photo, Visit, utcnow
from .models.integrity import CHECKIN, DRAFT
from .models.integrity import SUBMIT as SUBMIT_EVENT
from .models.visit import QA, RETURNED, SUBMITTED
from .months import is_closed
from .visit_states import CHECK_IN, SAVE_DRAFT, SUBMIT, TransitionError
from .visits import ScoringForm, load_form, local_now, save_scored_answers, score_fields

TIMED_MAX_SECONDS = item_types.TIMED_MAX_SECONDS
FACT_FIELDS = ("visit_date", "arrival_time", "visit_type_confirmed", "order_description",
               "receipt_total", "overall_comment", loyalty.FIELD)
TEXT_FACTS = ("order_description", "overall_comment")
#: A draft's answer value is a short scalar (1, -30, "249" as the form holds it).
DRAFT_VALUE_LIMIT = 64


def is_editable(visit: Visit) -> bool:
    """Whether the evaluator may still change the visit (as last read: writers decide
    under the row lock, see ``visit_states``)."""
    return visit_states.allows(visit, SUBMIT)


def _start(visit: Visit, action: visit_states.Action, user_id: int | None) -> None:
    """Check that ``action`` is allowed on the (locked) visit, else TransitionError; the
    first check-in or draft records the start and moves assigned → in progress."""
    status = visit_states.move(visit, action)
    if visit.started_at is None:
        visit.started_at = utcnow()
    if status != visit.status:
        log_change("visit", visit.id, "start", user_id, {"status": visit.status},
                   {"status": status})
        visit.status = status


def _place(visit: Visit):
    return visit.store if visit.store is not None else visit.competitor


def check_in(visit: Visit, user_id: int | None, latitude: Any = None,
             longitude: Any = None, accuracy: Any = None) -> None:
    """Record the start of the visit and, if the shopper shared it, where they were (and
    how accurate the phone said that was), in the visit's paradata for HQ.
    A check-in too far from the store is flagged for HQ, never refused.
    TransitionError (nothing changed; the caller rolls back) when the visit can no longer
    be changed."""
    visit = visit_states.lock(visit.id)  # the same object, refreshed
    first = visit.started_at is None
    try:
        _start(visit, CHECK_IN, user_id)
    except TransitionError:
        db.session.rollback()
        raise
    try:
        lat = float(latitude) if latitude not in (None, "") else None
        lon = float(longitude) if longitude not in (None, "") else None
    except (TypeError, ValueError):
        lat = lon = None
    within = lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
    acc = _number(accuracy) if accuracy not in (None, "") else None
    integrity.record(visit.id, CHECKIN, data={
        "latitude": lat if within else None, "longitude": lon if within else None,
        "accuracy_m": round(acc, 1) if acc is not None and 0 <= acc <= 1e6 else None})
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180 \
            and (first or visit.checkin_latitude is None):
        visit.checkin_latitude, visit.checkin_longitude = lat, lon
        place = _place(visit)
        if place is not None and place.latitude is not None and place.longitude is not None:
            distance = haversine_m(lat, lon, place.latitude, place.longitude)
            visit.checkin_distance_m = distance
            visit.location_flagged = distance > current_app.config.get(
                "CHECKIN_MAX_DISTANCE_M", 500)


# --- reading a payload ---------------------------------------------------------------------


def _clean_payload(payload: dict | None) -> dict:
    payload = payload if isinstance(payload, dict) else {}
    answers_in = payload.get("answers") if isinstance(payload.get("answers"), dict) else {}
    answers: dict[str, dict] = {}
    for key, raw in answers_in.items():
        if not isinstance(raw, dict):
            continue
        answers[str(key)] = {
            "value": raw.get("value"),
            "na": bool(raw.get("na")),
            "comment": str(raw.get("comment") or ""),
        }
    facts_in = payload.get("facts") if isinstance(payload.get("facts"), dict) else {}
    facts = {k: facts_in.get(k) for k in FACT_FIELDS if k in facts_in}
    clean = {"answers": answers, "facts": facts}
    scenario = scenarios.clean_payload(payload.get("scenario"))  # scenario shops (#24)
    if scenario is not None:
        clean["scenario"] = scenario
    return clean


def payload_from_form(form: MultiDict) -> dict:
    """The HTML form's fields (``v_<id>``, ``na_<id>``, ``c_<id>`` and the facts) as a
    payload."""
    answers: dict[str, dict] = {}
    for name in form:
        for prefix in ("v_", "na_", "c_"):
            if name.startswith(prefix) and name[len(prefix):].isdigit():
                answers.setdefault(name[len(prefix):], {"value": None, "na": False,
                                                        "comment": ""})
    for item_id, a in answers.items():
        value = form.get(f"v_{item_id}", "").strip()
        a["na"] = form.get(f"na_{item_id}") in ("1", "on", "true") or value == "na"
        a["value"] = None if value in ("", "na") else value
        a["comment"] = form.get(f"c_{item_id}", "")
    facts: dict[str, Any] = {k: form.get(k, "") for k in FACT_FIELDS if k in form}
    if "visit_type_confirmed" in facts:
        facts["visit_type_confirmed"] = {"1": True, "0": False}.get(facts["visit_type_confirmed"])
    return {"client_submission_id": form.get("client_submission_id", ""), "answers": answers,
            "facts": facts, "scenario": scenarios.payload_from_form(form),
            "integrity": {k[3:]: v for k, v in form.items() if k[:3] == "iq_"}}


def form_state(visit: Visit) -> dict:
    """What the form shows: the draft if there is one, else the stored answers and facts."""
    if visit.draft and is_editable(visit):
        return _clean_payload(visit.draft)
    answers = {
        str(a.item_id): {"value": a.text or a.value, "na": a.na, "comment": a.comment}
        for a in visit.answers
    }
    facts = {
        "visit_date": visit.visit_date.isoformat() if visit.visit_date else "",
        "arrival_time": visit.arrival_time.strftime("%H:%M") if visit.arrival_time else "",
        "visit_type_confirmed": visit.visit_type_confirmed,
        "order_description": visit.order_description or "",
        "receipt_total": visit.receipt_total,
        "overall_comment": visit.overall_comment or "",
        loyalty.FIELD: visit.loyalty,
    }
    return {"answers": answers, "facts": facts}


def _comment_problem(comment: str) -> str | None:
    problem = text_problem(comment)
    return _("Comment: %(problem)s", problem=problem) if problem else None


def check_draft(visit: Visit, payload: dict) -> dict[str, str]:
    """Why ``payload`` cannot be kept as the visit's draft, per field (keys as in
    ``validate``): answers only to this questionnaire's questions, short scalar values,
    facts as text, and every text within ``TEXT_LIMIT`` (so a draft's size is bounded by
    the questionnaire). Unanswered questions are fine: a draft is work in progress."""
    errors: dict[str, str] = {}
    answers = payload.get("answers", {})
    facts = payload.get("facts", {})
    if not isinstance(answers, dict):
        errors["answers"] = _("The answers must be an object keyed by question id.")
        answers = {}
    if not isinstance(facts, dict):
        errors["facts"] = _("The visit details must be an object keyed by field name.")
        facts = {}
    items = {str(item.id): item for item in load_form(visit.questionnaire_id).items}
    scalar = (str, int, float, bool, type(None))
    for key, raw in answers.items():
        if key not in items:
            errors[f"answers.{str(key)[:40]}"] = _("There is no such question in this visit.")
            continue
        if not isinstance(raw, dict):
            errors[f"item-{key}"] = _("An answer must be an object with value, na and "
                                      "comment.")
            continue
        value, comment = raw.get("value"), raw.get("comment")
        numeric = items[key].kind.numeric
        if not isinstance(value, scalar) or (numeric and len(str(value)) > DRAFT_VALUE_LIMIT):
            errors[f"item-{key}"] = _("This answer is not a valid value.")
        elif not isinstance(comment, (str, type(None))):
            errors[f"item-{key}"] = _("Comment: must be text.")
        elif problem := ((text_problem(value) if isinstance(value, str) else None)
                         or (_comment_problem(comment) if comment else None)):
            errors[f"item-{key}"] = problem
    for name in FACT_FIELDS:
        value = facts.get(name)
        if not isinstance(value, scalar):
            errors[name] = _("This field must be text, a number or empty.")
        elif isinstance(value, str) and (problem := text_problem(value)):
            errors[name] = problem
    return errors


def save_draft(visit: Visit, payload: dict, user_id: int | None) -> dict:
    """Keep what the form holds as the visit's server-side draft (checked first with
    ``check_draft``).
    TransitionError (nothing changed; the caller rolls back) when the visit can no longer
    be changed: a late autosave never touches what was submitted."""
    clean = _clean_payload(payload)
    clean["saved_at"] = utcnow().isoformat(timespec="seconds")
    visit = visit_states.lock(visit.id)
    try:
        _start(visit, SAVE_DRAFT, user_id)
    except TransitionError:
        db.session.rollback()
        raise
    visit.draft = clean
    integrity.record(visit.id, DRAFT)
    return clean


# --- validation ----------------------------------------------------------------------------


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        x = float(str(raw).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def fact_fields(kind: str) -> tuple[str, ...]:
    """The visit facts the form asks for a visit of this kind: a QA auditor is not asked
    whether they made the visit type as assigned, what they ordered or the receipt
    total (a QA audit is not a purchase)."""
    if kind == QA:
        return ("visit_date", "arrival_time", "overall_comment")
    return FACT_FIELDS


def photo_counts(visit_id: int) -> dict[int, int]:
    """How many photos each item of the visit has (item id → count)."""
    return dict(db.session.execute(
        select(Photo.item_id, func.count(Photo.id))
        .where(Photo.visit_id == visit_id, Photo.item_id.is_not(None))
        .group_by(Photo.item_id)).all())


def followup_problems(item: Any, comment: str, photos: int) -> list[str]:
    """What a failed answer still needs (SCORING.md §8 "failed"): the item's follow-ups,
    a comment saying why and/or a photo attached to the item."""
    needs = []
    if getattr(item, "require_comment", False) and not (comment or "").strip():
        needs.append(_("This answer needs a comment: say what went wrong."))
    if getattr(item, "require_photo", False) and not photos:
        needs.append(_("This answer needs a photo: add one to this question."))
    return needs


@dataclass
class Checked:
    answers: dict[int, tuple[float | None, bool, str]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    scenario: dict | None = None


def assignment_window(visit: Visit) -> tuple[date, date]:
    """The first and last day on which the visit may take place: its assignment month."""
    year, month = int(visit.month[:4]), int(visit.month[5:7])
    last = date(year, month, calendar.monthrange(year, month)[1])
    # HQ may extend an assignment past its month (``deadlines.bulk_extend``)
    if visit.due_date is not None and visit.due_date > last:
        last = visit.due_date
    return date(year, month, 1), last


def validate(visit: Visit, payload: dict, form: ScoringForm) -> Checked:
    """Check a payload against the visit's questionnaire (``form``); errors are keyed
    ``item-<id>`` or by fact name, each with a message for the user.

    The hard rules (a submission breaking one is refused, its draft kept): every answer
    in its type's range; the visit date within the assignment's window
    (``assignment_window``) and not after today at the store; on today's date, the
    arrival time not after the store's current time; the receipt total a number in
    range. The API, the plain HTML form and shopper.js all submit through here."""
    clean = _clean_payload(payload)
    out = Checked()
    shown = form.visible_ids(visit.visit_type, visit.kind, clean["answers"])
    counts: dict[int, int] | None = None

    def photos_of(item_id: int) -> int:
        """The item's photos, read once and only when a question needs them."""
        nonlocal counts
        if counts is None:
            counts = photo_counts(visit.id)
        return counts.get(item_id, 0)

    for item in form.items:
        kind = item.kind
        if item.id not in shown or not kind.asked:
            continue  # hidden by its condition (or only read): not asked, not scored
        raw = clean["answers"].get(str(item.id), {})
        key = f"item-{item.id}"
        comment = raw.get("comment", "")
        if raw.get("na"):
            if not item.allow_na:
                out.errors[key] = _("N/A is not allowed for this question: please answer it.")
            else:
                out.answers[item.id] = (None, True, comment)
            continue
        value = photos_of(item.id) if kind.photos else raw.get("value")
        if value in (None, ""):
            out.errors[key] = _("Please answer this question.")
            continue
        try:
            x = kind.parse(item, value)
        except item_types.AnswerError as error:
            out.errors[key] = str(error)
            continue
        if kind.failed(item, visit.visit_type, x):
            needs = followup_problems(
                item, comment, photos_of(item.id) if item.require_photo else 0)
            if needs:
                out.errors[key] = " ".join(needs)
                continue
        out.answers[item.id] = (x, False, comment)
    for item in form.items:
        problem = _comment_problem(clean["answers"].get(str(item.id), {}).get("comment", ""))
        if problem:
            key = f"item-{item.id}"
            out.errors[key] = f"{out.errors[key]} {problem}" if key in out.errors else problem

    facts = clean["facts"]
    now = local_now(visit)
    raw_date = str(facts.get("visit_date") or "").strip()
    try:
        visit_date = date.fromisoformat(raw_date)
    except ValueError:
        visit_date = None
        out.errors["visit_date"] = _("Enter the date of the visit.")
    first, last = assignment_window(visit)
    if visit_date is not None and not first <= visit_date <= last:
        out.errors["visit_date"] = _(
            "The visit date must lie within the assignment's period, %(first)s to %(last)s.",
            first=first.isoformat(), last=last.isoformat())
    elif visit_date is not None and visit_date > now.date():
        out.errors["visit_date"] = _("The visit date cannot be in the future (today is "
                                     "%(today)s at the store).", today=now.date().isoformat())
    elif visit_date is not None:
        out.facts["visit_date"] = visit_date
    raw_time = str(facts.get("arrival_time") or "").strip()
    try:
        out.facts["arrival_time"] = time.fromisoformat(raw_time[:5]) if raw_time else None
        if out.facts["arrival_time"] is None:
            out.errors["arrival_time"] = _("Enter the time you arrived.")
        elif visit_date == now.date() and out.facts["arrival_time"] > now.time():
            out.errors["arrival_time"] = _(
                "The arrival time cannot be later than now (%(now)s at the store).",
                now=now.strftime("%H:%M"))
    except ValueError:
        out.errors["arrival_time"] = _("Enter the time as HH:MM.")
    asked = fact_fields(visit.kind)
    confirmed = facts.get("visit_type_confirmed")
    out.facts["visit_type_confirmed"] = confirmed if isinstance(confirmed, bool) else None
    if "visit_type_confirmed" not in asked:
        out.facts["visit_type_confirmed"] = None
    elif out.facts["visit_type_confirmed"] is None:
        out.errors["visit_type_confirmed"] = _("Tell us whether you made this type of visit.")
    raw_total = facts.get("receipt_total")
    if raw_total in (None, "") or "receipt_total" not in asked:
        out.facts["receipt_total"] = None
    else:
        total = _number(raw_total)
        if total is None or total < 0 or total > 100_000:
            out.errors["receipt_total"] = _("Enter the receipt total as a number, e.g. 35.50.")
        else:
            out.facts["receipt_total"] = total
    if visit.kind != QA:  # the loyalty question is the customer's, not the auditor's
        out.facts[loyalty.FIELD], problem = loyalty.parse(facts.get(loyalty.FIELD))
        if problem:
            out.errors[loyalty.FIELD] = problem
    for name in TEXT_FACTS:
        out.facts[name] = str(facts.get(name) or "") if name in asked else ""
        if problem := text_problem(out.facts[name]):
            out.errors[name] = problem
    out.scenario, scenario_errors = scenarios.check(visit, clean.get("scenario"))
    out.errors.update(scenario_errors)
    return out


# --- submission ----------------------------------------------------------------------------


@dataclass
class SubmitResult:
    visit: Visit
    ok: bool
    duplicate: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    #: As committed, for the answer to the client (reading them from ``visit`` after the
    #: commit would reload it).
    status: str | None = None
    client_submission_id: str | None = None
    submitted_at: datetime | None = None


#: The submitted visit's row: the columns named in the parameters (facts, status, scores),
#: and the draft emptied (SQL NULL).
_UPDATE_VISIT = (Visit.__table__.update()
                 .where(Visit.__table__.c.id == bindparam("visit_id")).values(draft=null()))


#: The visit re-read with its row locked until the commit (see ``visit_states.lock``).
lock_visit = visit_states.lock


def submit(visit: Visit, payload: dict, user_id: int | None, *,
           locked: bool = False) -> SubmitResult:
    """Validate, save the answers and facts, score, and send the visit to review, in one
    transaction. A repeat with the same ``client_submission_id`` returns the first result.
    ``locked``: the caller read ``visit`` with ``lock_visit`` (or the same lock) in this
    transaction.

    The caller commits when the result is ``ok`` and rolls back otherwise (the row lock
    is held until then); after a UNIQUE violation this rolls back itself."""
    client_id = str((payload or {}).get("client_submission_id") or "").strip()[:64] or None
    if not locked:
        visit = lock_visit(visit.id)
    if not visit_states.allows(visit, SUBMIT):
        return _already_sent(visit, client_id)
    form = load_form(visit.questionnaire_id)
    checked = validate(visit, payload, form)
    if checked.errors:
        return SubmitResult(visit, False, errors=checked.errors,
                            message=_("Some answers are missing or need a correction."))
    now = utcnow()
    # after the due date: accepted, marked late for HQ (a returned visit keeps its mark),
    # unless its month is closed
    late = visit.submitted_late if visit.status == RETURNED else (
        visit.due_date is not None and local_now(visit).date() > visit.due_date)
    if late and visit.status != RETURNED and is_closed(visit.month):
        return SubmitResult(visit, False, message=_(
            "This assignment was due by %(due)s and %(month)s is now closed: it can no "
            "longer be submitted.", due=visit.due_date.isoformat(), month=visit.month))
    before = {"status": visit.status}
    changes = {
        "submitted_late": bool(late),
        **checked.facts,
        "visit_id": visit.id,
        "status": visit_states.move(visit, SUBMIT),
        "submitted_at": now,
        "started_at": visit.started_at or now,
        "client_submission_id": client_id,
        "return_reason": visit.return_reason or "",
    }
    try:
        # One statement per table (no ORM object per row, no unit-of-work flush): the
        # answers with their scores, the dimension scores, the visit, the audit row.
        result = save_scored_answers(visit, form, checked.answers)
        scenarios.save_result(visit, checked.scenario)
        changes.update(score_fields(result))
        db.session.execute(_UPDATE_VISIT, changes)
        log_change("visit", visit.id, "submit", user_id, before,
                   {"status": SUBMITTED, "client_submission_id": client_id,
                    **({"late": True} if late else {})})
        integrity.record(visit.id, SUBMIT_EVENT)
        integrity.assess(visit, checked.facts, checked.answers,
                         {item.id: item.item_type for item in form.items}, now)
        integrity_questions.record_answers(visit, payload or {})
    except IntegrityError:
        # ``client_submission_id`` is unique: another visit was sent with this id. (Or,
        # should a writer ever bypass the lock, this visit's answers were just stored by
        # another request: then it answers like any later submission of the visit.)
        db.session.rollback()
        if client_id is not None and _owner(client_id) not in (None, visit.id):
            return SubmitResult(visit, False, errors=_another_visits_id())
        visit = lock_visit(visit.id)
        if not visit_states.allows(visit, SUBMIT):
            return _already_sent(visit, client_id)
        raise
    return SubmitResult(visit, True, status=SUBMITTED, client_submission_id=client_id,
                        submitted_at=now)


def _already_sent(visit: Visit, client_id: str | None) -> SubmitResult:
    """The answer to a submission of a visit that was already sent: the first result when
    it is the same submission (same client id: a double tap, a retry), else a refusal."""
    db.session.rollback()
    if client_id is not None and visit.client_submission_id == client_id:
        return SubmitResult(visit, True, duplicate=True, status=visit.status,
                            client_submission_id=visit.client_submission_id,
                            submitted_at=visit.submitted_at)
    if client_id is not None and _owner(client_id) is not None:
        return SubmitResult(visit, False, errors=_another_visits_id())
    return SubmitResult(visit, False, message=visit_states.refusal(visit, SUBMIT))


def _owner(client_id: str) -> int | None:
    """The visit that was submitted with this client id, if any."""
    return db.session.scalar(select(Visit.id).where(Visit.client_submission_id == client_id))


def _another_visits_id() -> dict[str, str]:
    return {"client_submission_id": _("This submission id belongs to another visit.")}


def submitted_at_iso(visit: Visit | SubmitResult) -> str | None:
    value: datetime | None = visit.submitted_at
    return value.isoformat(timespec="seconds") if value else None
