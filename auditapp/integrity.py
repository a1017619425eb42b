"""Is a visit to be trusted? The paradata of how its form was filled in, and the soft flags
computed at its submission, each with a plain-language reason and a weight; the weights
add up to the visit's risk score, which orders HQ's review queue.

All of it is for HQ only: no page, PDF, export or API answer a store sees reads these
tables. Flags never refuse anything (the hard rules are ``submission.validate``): they
tell the reviewer where to look. Every flag and its default threshold: docs/INTEGRITY.md.

A new flag is one function decorated with ``@check(...)`` below: it gets the submission's
``Evidence`` and returns the values of its reason (a dict) or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rapidfuzz import fuzz
from rapidfuzz import process as fuzzy
from sqlalchemy import case, delete, exists, func, select
from sqlalchemy.orm import selectinload

from . import scoring
from .extensions import db
from .geo import haversine_m
from .i18n import VISIT_TYPE_LABELS, label
from .models import Answer, Item, Photo, PhotoMeta, Visit, VisitEvent, VisitFlag, utcnow
from .models.integrity import (
    CLIENT_EVENT_KINDS,
    OPENED,
    STEP,
    TIMER_START,
    TIMER_STOP,
)
from .models.visit import ASSIGNED, IN_PROGRESS, SUBMITTED
from .settings import get_setting
from .visits import load_form

SETTINGS_KEY = "integrity"
#: Thresholds (HQ settings, key ``integrity``); the weights are per flag code below.
THRESHOLDS: dict[str, int] = {
    "min_visit_minutes": 10,
    "photo_max_distance_m": 500,
    "timer_tolerance_s": 5,
    "photo_hash_distance": 6,
    "comment_similarity": 90,
    "comment_min_chars": 20,
    "straight_line_min_items": 4,
}
#: Events the phone may send for one visit, and at once.
MAX_CLIENT_EVENTS = 2000
MAX_EVENTS_PER_REQUEST = 100


# --- the registry ----------------------------------------------------------------------------


@dataclass
class Evidence:
    """What a submission's checks look at (the visit as just submitted)."""

    visit: Visit
    facts: dict[str, Any]
    #: item id → (value, na, comment) as validated
    answers: dict[int, tuple[float | None, bool, str]]
    item_types: dict[int, str]
    submitted_at: datetime
    limits: dict[str, int]
    events: list[VisitEvent] = field(default_factory=list)
    photos: list[tuple[int, Photo, PhotoMeta | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    code: str
    #: A short name (queue filter, settings).
    label: Any
    default_weight: int
    find: Callable[[Evidence], dict | None]
    #: The plain-language reason, from the values ``find`` returned.
    explain: Callable[[dict], str]


CHECKS: dict[str, Check] = {}


def check(code: str, label_: Any, weight: int, explain: Callable[[dict], str]):
    def register(find: Callable[[Evidence], dict | None]):
        CHECKS[code] = Check(code, label_, weight, find, explain)
        return find
    return register


def _join(parts: list[str]) -> str:
    return " ".join(parts)


# --- the checks ------------------------------------------------------------------------------


@check("visit_type", _l("Visit type not as assigned"), 3, lambda d: _(
    "The shopper answered No to “Did you make a %(type)s visit as assigned?”",
    type=label(VISIT_TYPE_LABELS, d["type"])))
def _visit_type(ev: Evidence) -> dict | None:
    if ev.facts.get("visit_type_confirmed") is False:
        return {"type": ev.visit.visit_type}
    return None


@check("too_fast", _l("Too fast"), 3, lambda d: _(
    "Only %(minutes)s minutes from check-in to submission (at least %(min)s expected).",
    minutes=d["minutes"], min=d["min"]))
def _too_fast(ev: Evidence) -> dict | None:
    started = ev.visit.started_at or ev.submitted_at
    minutes = (ev.submitted_at - started).total_seconds() / 60
    limit = ev.limits["min_visit_minutes"]
    if minutes < limit:
        return {"minutes": f"{minutes:.1f}", "min": limit}
    return None


@check("far_checkin", _l("Check-in far from store"), 3, lambda d: _(
    "Checked in %(metres)s m from the store.", metres=d["metres"]))
def _far_checkin(ev: Evidence) -> dict | None:
    if ev.visit.location_flagged:
        return {"metres": round(ev.visit.checkin_distance_m or 0)}
    return None


@check("timer_mismatch", _l("Timer does not match"), 2, lambda d: _join([_(
    "Question %(item)s: %(answer)s s entered, but the timer ran %(timed)s s on the phone "
    "(%(received)s s as received).", **p) for p in d["items"]]))
def _timer_mismatch(ev: Evidence) -> dict | None:
    tolerance = ev.limits["timer_tolerance_s"]
    found = []
    for item_id, (value, na, _comment) in ev.answers.items():
        if na or value is None or ev.item_types.get(item_id) != scoring.TIMED:
            continue
        starts = [e for e in ev.events if e.kind == TIMER_START and e.item_id == item_id]
        stops = [e for e in ev.events if e.kind == TIMER_STOP and e.item_id == item_id]
        if not starts or not stops:
            continue  # timed another way and typed in: nothing to compare with
        stop = stops[-1]
        start = max((e for e in starts if e.server_at <= stop.server_at),
                    key=lambda e: e.server_at, default=starts[-1])
        received = (stop.server_at - start.server_at).total_seconds()
        on_phone = ((stop.client_at - start.client_at).total_seconds()
                    if stop.client_at and start.client_at else received)
        # events kept on the phone while offline arrive together: then only the phone's
        # clock can be compared
        batched = received < 1
        if abs(on_phone - value) > tolerance or \
                (not batched and abs(on_phone - received) > tolerance):
            found.append({"item": item_id,
                          "answer": f"{value:g}", "timed": f"{on_phone:.0f}",
                          "received": f"{received:.0f}"})
    if not found:
        return None
    codes = _item_codes([f["item"] for f in found])
    return {"items": [{**f, "item": codes.get(f["item"], str(f["item"]))} for f in found]}


@check("photo_time", _l("Photo not from the visit day"), 2, lambda d: _join([_(
    "Photo %(n)s was taken on %(taken)s, not on the visit day (%(day)s).", **p)
    for p in d["photos"]]))
def _photo_time(ev: Evidence) -> dict | None:
    day = ev.facts.get("visit_date")
    if not isinstance(day, date):
        return None
    found = [{"n": n, "taken": f"{meta.taken_at:%Y-%m-%d %H:%M}", "day": day.isoformat()}
             for n, _photo, meta in ev.photos
             if meta is not None and meta.taken_at is not None and meta.taken_at.date() != day]
    return {"photos": found} if found else None


@check("photo_place", _l("Photo taken far from store"), 2, lambda d: _join([_(
    "Photo %(n)s was taken %(metres)s m from the store.", **p) for p in d["photos"]]))
def _photo_place(ev: Evidence) -> dict | None:
    place = ev.visit.store or ev.visit.competitor
    if place is None or place.latitude is None or place.longitude is None:
        return None
    found = []
    for n, _photo, meta in ev.photos:
        if meta is None or meta.latitude is None or meta.longitude is None:
            continue
        metres = haversine_m(meta.latitude, meta.longitude, place.latitude, place.longitude)
        if metres > ev.limits["photo_max_distance_m"]:
            found.append({"n": n, "metres": round(metres)})
    return {"photos": found} if found else None


@check("duplicate_photo", _l("Photo used before"), 4, lambda d: _join([_(
    "Photo %(n)s is the same picture as a photo of visit %(other)s.", **p)
    for p in d["photos"]]))
def _duplicate_photo(ev: Evidence) -> dict | None:
    mine = [(n, meta.phash) for n, _photo, meta in ev.photos
            if meta is not None and informative_hash(meta.phash)]
    if not mine:
        return None
    others = db.session.execute(
        select(PhotoMeta.phash, Photo.visit_id).join(Photo, Photo.id == PhotoMeta.photo_id)
        .where(Photo.visit_id != ev.visit.id, PhotoMeta.phash.is_not(None))).all()
    found = []
    for n, phash in mine:
        other = next((visit_id for h, visit_id in others
                      if hash_distance(phash, h) <= ev.limits["photo_hash_distance"]), None)
        if other is not None:
            found.append({"n": n, "other": other})
    return {"photos": found} if found else None


@check("copied_comment", _l("Comment copied"), 2, lambda d: _(
    "A comment is nearly identical (%(similarity)s/100) to one the same shopper wrote "
    "for visit %(other)s: “%(text)s”", **d))
def _copied_comment(ev: Evidence) -> dict | None:
    shortest = ev.limits["comment_min_chars"]
    texts = [str(ev.facts.get("overall_comment") or ""), *(a[2] for a in ev.answers.values())]
    mine = {_normal(t): t.strip() for t in texts if len(_normal(t)) >= shortest}
    if not mine or ev.visit.evaluator_id is None:
        return None
    earlier = (select(Visit.id).where(Visit.evaluator_id == ev.visit.evaluator_id,
                                      Visit.id != ev.visit.id,
                                      Visit.status.not_in((ASSIGNED, IN_PROGRESS)))
               .order_by(Visit.submitted_at.desc()).limit(200).subquery())
    theirs: dict[str, int] = {}
    for text, visit_id in db.session.execute(
            select(Answer.comment, Answer.visit_id).where(Answer.visit_id.in_(select(earlier)))
            .union_all(select(Visit.overall_comment, Visit.id)
                       .where(Visit.id.in_(select(earlier))))):
        if text and len(_normal(text)) >= shortest:
            theirs.setdefault(_normal(text), visit_id)
    if not theirs:
        return None
    best = None
    for text in mine:
        hit = fuzzy.extractOne(text, list(theirs), scorer=fuzz.ratio,
                               score_cutoff=ev.limits["comment_similarity"])
        if hit and (best is None or hit[1] > best[1]):
            best = (text, hit[1], theirs[hit[0]])
    if best is None:
        return None
    text, similarity, other = best
    original = mine[text]  # as the shopper wrote it
    return {"similarity": round(similarity), "other": other,
            "text": original if len(original) <= 80 else original[:79] + "…"}


@check("straight_lining", _l("Same answer everywhere"), 1, lambda d: _(
    "Every one of the %(n)s rating questions got the same answer.", n=d["n"]))
def _straight_lining(ev: Evidence) -> dict | None:
    values = [v for item_id, (v, na, _c) in ev.answers.items()
              if not na and ev.item_types.get(item_id) == scoring.SCALE7]
    if len(values) >= ev.limits["straight_line_min_items"] and len(set(values)) == 1:
        return {"n": len(values)}
    return None


@check("outside_hours", _l("Outside opening hours"), 2, lambda d: _(
    "Arrival at %(arrival)s is outside the store's opening hours (%(opens)s–%(closes)s).",
    **d))
def _outside_hours(ev: Evidence) -> dict | None:
    store, arrival = ev.visit.store, ev.facts.get("arrival_time")
    if store is None or store.opens_at is None or store.closes_at is None \
            or not isinstance(arrival, time) or store.opens_at == store.closes_at:
        return None
    opens, closes = store.opens_at, store.closes_at
    inside = opens <= arrival < closes if opens < closes else (
        arrival >= opens or arrival < closes)
    if inside:
        return None
    return {"arrival": f"{arrival:%H:%M}", "opens": f"{opens:%H:%M}",
            "closes": f"{closes:%H:%M}"}


# --- helpers ---------------------------------------------------------------------------------


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _item_codes(ids) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(Item.id, Item.code).where(Item.id.in_(list(ids)))).all()
    return {item_id: code for item_id, code in rows}


def hash_distance(a: str, b: str) -> int:
    """Bits that differ between two perceptual hashes (hex)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def informative_hash(phash: str | None) -> bool:
    """A picture of one colour (a pocket shot, a blank wall) hashes alike whatever it
    shows: such hashes prove nothing about reuse."""
    return phash is not None and 4 <= int(phash, 16).bit_count() <= 60


@check("integrity_answer", _l("Wrong integrity answer"), 3, lambda d: _(
    "%(n)s integrity answer(s) differ from what head office recorded for the store and "
    "month: %(questions)s", n=d["n"], questions="; ".join(d.get("questions") or [])))
def _integrity_answer(ev: Evidence) -> dict | None:
    """Raised by ``integrity_questions`` (the truth may be recorded after submission)."""
    return None


# --- settings ----------------------------------------------------------------------------------


def config() -> dict[str, Any]:
    """Thresholds and weights in force: the defaults above until HQ changes them."""
    stored = get_setting(SETTINGS_KEY)
    limits = {k: int(stored.get(k, v)) for k, v in THRESHOLDS.items()}
    weights = {code: int((stored.get("weights") or {}).get(code, c.default_weight))
               for code, c in CHECKS.items()}
    return {**limits, "weights": weights}


def save_config(values: dict[str, int], weights: dict[str, int], user_id: int | None) -> None:
    """Store new thresholds and weights (audit-trail row through ``settings``)."""
    from .settings import save_setting

    save_setting(SETTINGS_KEY, {**{k: int(values[k]) for k in THRESHOLDS},
                                "weights": {c: int(weights[c]) for c in CHECKS}}, user_id)


def risk_expression(weights: dict[str, int]):
    """The visit's risk score in SQL: the weights of its flags added up."""
    weight = case(weights, value=VisitFlag.code, else_=0) if weights else 0
    return (select(func.coalesce(func.sum(weight), 0))
            .where(VisitFlag.visit_id == Visit.id).correlate(Visit).scalar_subquery())


def has_flag(code: str):
    return exists(select(VisitFlag.id).where(VisitFlag.visit_id == Visit.id,
                                             VisitFlag.code == code))


# --- at submission -----------------------------------------------------------------------------


def assess(visit: Visit, facts: dict[str, Any],
           answers: dict[int, tuple[float | None, bool, str]], item_types: dict[int, str],
           submitted_at: datetime) -> list[VisitFlag]:
    """Run every check on a visit being submitted and store its flags (the flags of an
    earlier submission of the same visit are replaced)."""
    limits = config()
    photos = list(db.session.execute(
        select(Photo, PhotoMeta).outerjoin(PhotoMeta, PhotoMeta.photo_id == Photo.id)
        .where(Photo.visit_id == visit.id).order_by(Photo.id)).all())
    evidence = Evidence(
        visit=visit, facts=facts, answers=answers, item_types=item_types,
        submitted_at=submitted_at, limits=limits,
        events=list(db.session.scalars(select(VisitEvent).where(
            VisitEvent.visit_id == visit.id, VisitEvent.kind.in_((TIMER_START, TIMER_STOP)))
            .order_by(VisitEvent.server_at, VisitEvent.id))),
        photos=[(n, p, m) for n, (p, m) in enumerate(photos, start=1)],
    )
    if visit.submitted_at is not None:  # submitted before (then returned): new flags
        db.session.execute(delete(VisitFlag).where(VisitFlag.visit_id == visit.id))
    flags = []
    for code, c in CHECKS.items():
        detail = c.find(evidence)
        if detail is not None:
            flags.append(VisitFlag(visit_id=visit.id, code=code, detail=detail))
    db.session.add_all(flags)
    return flags


# --- paradata ----------------------------------------------------------------------------------


def record(visit_id: int, kind: str, *, item_id: int | None = None,
           client_at: datetime | None = None, data: dict | None = None) -> VisitEvent:
    event = VisitEvent(visit_id=visit_id, kind=kind, item_id=item_id, client_at=client_at,
                       data=data, server_at=utcnow())
    db.session.add(event)
    return event


def record_opened(visit: Visit) -> bool:
    """Stamp the first time the form was opened (True if this was it)."""
    seen = db.session.scalar(select(VisitEvent.id).where(
        VisitEvent.visit_id == visit.id, VisitEvent.kind == OPENED).limit(1))
    if seen is not None:
        return False
    record(visit.id, OPENED)
    return True


class EventError(ValueError):
    """Events the phone sent that cannot be kept; ``fields`` says why, per event."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def _client_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    offset = at.utcoffset()
    return (at - offset).replace(tzinfo=None) if offset is not None else at  # naive UTC


def record_client_events(visit: Visit, raw: Any) -> int:
    """Keep the timer and step events the JavaScript form sent (each stamped with the
    server's receipt time next to the phone's). EventError when any is malformed: then
    none is kept."""
    if not isinstance(raw, list) or not raw:
        raise EventError(_("Send the events as a non-empty list."))
    if len(raw) > MAX_EVENTS_PER_REQUEST:
        raise EventError(_("Send at most %(n)s events at once.", n=MAX_EVENTS_PER_REQUEST))
    kept = db.session.scalar(select(func.count(VisitEvent.id)).where(
        VisitEvent.visit_id == visit.id, VisitEvent.kind.in_(CLIENT_EVENT_KINDS))) or 0
    if kept + len(raw) > MAX_CLIENT_EVENTS:
        raise EventError(_("This visit has recorded all the events it can keep."))
    timed = {i.id for i in load_form(visit.questionnaire_id).items
             if i.item_type == scoring.TIMED}
    errors: dict[str, str] = {}
    events = []
    for n, e in enumerate(raw):
        key = f"events.{n}"
        if not isinstance(e, dict) or e.get("kind") not in CLIENT_EVENT_KINDS:
            errors[key] = _("Each event needs a kind: timer_start, timer_stop or step.")
            continue
        at = _client_time(e.get("at"))
        if at is None:
            errors[key] = _("Each event needs the phone's time as an ISO date and time.")
            continue
        data: dict[str, Any] = {}
        item_id = None
        if e["kind"] in (TIMER_START, TIMER_STOP):
            item_id = e.get("item_id")
            if not isinstance(item_id, int) or isinstance(item_id, bool) or item_id not in timed:
                errors[key] = _("A timer event must name a timed question of this visit.")
                continue
        seconds = e.get("seconds")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                    or not 0 <= seconds <= 86_400:
                errors[key] = _("Seconds must be a number between 0 and 86400.")
                continue
            data["seconds"] = round(float(seconds), 1)
        if e["kind"] == STEP:
            step = e.get("step")
            if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 100:
                errors[key] = _("A step event must give the step's number.")
                continue
            data["step"] = step
        events.append((e["kind"], item_id, at, data or None))
    if errors:
        raise EventError(_("The events were not recorded: some need a correction."), errors)
    for kind, item_id, at, data in events:
        record(visit.id, kind, item_id=item_id, client_at=at, data=data)
    return len(events)


# --- what HQ reads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    text: str
    weight: int


def reasons(flags: list[VisitFlag], weights: dict[str, int]) -> list[Reason]:
    out = []
    for flag in flags:
        c = CHECKS.get(flag.code)
        if c is None:
            continue
        try:
            text = c.explain(flag.detail or {})
        except (KeyError, TypeError, ValueError):
            text = str(c.label)
        out.append(Reason(flag.code, str(c.label), text, weights.get(flag.code, 0)))
    return sorted(out, key=lambda r: (-r.weight, r.code))


def reasons_by_visit(visit_ids: list[int]) -> dict[int, list[Reason]]:
    """The reasons of each visit's flags, heaviest first."""
    weights = config()["weights"]
    flags: dict[int, list[VisitFlag]] = {}
    if visit_ids:
        for flag in db.session.scalars(select(VisitFlag).where(
                VisitFlag.visit_id.in_(visit_ids)).order_by(VisitFlag.id)):
            flags.setdefault(flag.visit_id, []).append(flag)
    return {vid: reasons(fs, weights) for vid, fs in flags.items()}


@dataclass
class Panel:
    """The HQ visit page's integrity panel."""

    reasons: list[Reason]
    risk: int
    events: list[VisitEvent]
    #: step number → seconds spent on it (the JavaScript form's step events)
    step_seconds: dict[int, float]
    photos: list[tuple[int, Photo, PhotoMeta | None]]
    item_codes: dict[int, str]


def panel(visit: Visit) -> Panel:
    found = reasons_by_visit([visit.id]).get(visit.id, [])
    events = list(db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)
                                     .order_by(VisitEvent.server_at, VisitEvent.id)))
    steps: dict[int, float] = {}
    for e in events:
        if e.kind == STEP and e.data and "seconds" in e.data:
            steps[e.data["step"]] = steps.get(e.data["step"], 0) + e.data["seconds"]
    photos = list(db.session.execute(
        select(Photo, PhotoMeta).outerjoin(PhotoMeta, PhotoMeta.photo_id == Photo.id)
        .where(Photo.visit_id == visit.id).order_by(Photo.id)).all())
    item_ids = {e.item_id for e in events if e.item_id is not None}
    codes = _item_codes(item_ids)
    return Panel(found, sum(r.weight for r in found), events, steps,
                 [(n, p, m) for n, (p, m) in enumerate(photos, start=1)], codes)


# --- the review queue, riskiest first ------------------------------------------------------


def review_queue(kind: str | None = None, flag: str | None = None) -> list[Visit]:
    """The submitted visits waiting for review (of one kind, with one integrity flag, if
    given): the riskiest first (the weights of their flags added up), then
    the oldest."""
    query = (
        select(Visit)
        .where(Visit.status == SUBMITTED)
        .options(selectinload(Visit.store), selectinload(Visit.competitor),
                 selectinload(Visit.evaluator))
        .order_by(risk_expression(config()["weights"]).desc(),
                  Visit.submitted_at, Visit.id)
    )
    if kind is not None:
        query = query.where(Visit.kind == kind)
    if flag is not None:
        query = query.where(has_flag(flag))
    return list(db.session.scalars(query))
