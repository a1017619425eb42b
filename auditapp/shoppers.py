"""Shoppers as a managed workforce (issue #20): report grades, leniency (SCORING.md §12),
the figures of a shopper's profile and of the shoppers list, standing, availability and
the certification quiz. HQ only: no store-side page reads any of it.

Aggregates are SQL (GROUP BY), as in ``analytics.py``. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import Integer, String, and_, case, cast, delete, func, select

from .analytics import Period
from .audit import log_change
from .extensions import db
from .models import (
    SHOPPER,
    AuditLog,
    Dispute,
    IntegrityAnswer,
    QuizAttempt,
    QuizQuestion,
    QuizSetting,
    ReportGrade,
    ShopperProfile,
    ShopperUnavailable,
    Store,
    User,
    Visit,
)
from .models.followup import DISPUTE_UPHELD
from .models.shopper import ACTIVE, BLACKLISTED, GRADE_REASON_CODES, STANDINGS, SUSPENDED
from .models.visit import (
    COMPETITOR,
    COUNTED_STATUSES,
    DISPUTED,
    MYSTERY,
    REJECTED,
    RELEASED,
    RETURNED,
    SUBMITTED,
)

#: SCORING.md §12: flagged only with at least this many visits, at ±this many points.
LENIENCY_MIN_N = 6
LENIENCY_THRESHOLD = 10.0
LENIENT, HARSH = "lenient", "harsh"
#: Visits a shopper files (QA audits are HQ's own staff).
SHOPPER_KINDS = (MYSTERY, COMPETITOR)
#: A report may be graded once it was submitted.
GRADABLE_STATUSES = (SUBMITTED, RETURNED, RELEASED, DISPUTED, REJECTED)

GRADE_REASONS: dict[str, Any] = {
    "late": _l("Late"),
    "missing_photo": _l("Missing photo"),
    "vague_comments": _l("Vague comments"),
    "inconsistent": _l("Answers contradict the comments or photos"),
    "wrong_visit_type": _l("Wrong visit type"),
    "incomplete": _l("Incomplete"),
    "excellent_detail": _l("Excellent detail"),
}
assert tuple(GRADE_REASONS) == GRADE_REASON_CODES

STANDING_LABELS: dict[str, Any] = {
    ACTIVE: lazy_pgettext("shopper standing", "Active"), SUSPENDED: _l("Suspended"),
    BLACKLISTED: _l("Blacklisted"),
}
FLAG_LABELS: dict[str, Any] = {LENIENT: _l("Lenient"), HARSH: _l("Harsh")}


#: HQ setting: whether shoppers see the grade of their reports.
HISTORY_KEY = "shopper_history"


def grades_shared() -> bool:
    from .settings import get_setting

    return bool(get_setting(HISTORY_KEY).get("share_grade", False))


class ShopperError(ValueError):
    """A change the rules refuse; the message says why."""


def shoppers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == SHOPPER)
                                   .order_by(User.username)))


def shopper_or_none(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.role == SHOPPER else None


# --- grades ----------------------------------------------------------------------------------


def grade_report(visit: Visit, user, grade: int, reasons: list[str]) -> ReportGrade:
    """HQ grades a submitted report 1–10 (again: the grade is replaced); audit-trailed."""
    if visit.kind not in SHOPPER_KINDS or visit.status not in GRADABLE_STATUSES:
        raise ShopperError(_("Only a submitted shopper report can be graded."))
    if not isinstance(grade, int) or not 1 <= grade <= 10:
        raise ShopperError(_("Give a grade from 1 to 10."))
    unknown = [r for r in reasons if r not in GRADE_REASONS]
    if unknown:
        raise ShopperError(_("Pick the reasons from the list."))
    row = db.session.get(ReportGrade, visit.id)
    before = None if row is None else {"grade": row.grade, "reasons": list(row.reasons or [])}
    if row is None:
        row = ReportGrade(visit_id=visit.id)
        db.session.add(row)
    row.grade = grade
    row.reasons = list(dict.fromkeys(reasons))
    row.graded_by_id = user.id
    row.graded_at = _now()
    log_change("report_grade", visit.id, "grade", user.id, before,
               {"grade": grade, "reasons": row.reasons})
    return row


def grade_of(visit_id: int) -> ReportGrade | None:
    return db.session.get(ReportGrade, visit_id)


def _now():
    from .models import utcnow

    return utcnow()


# --- leniency (SCORING.md §12) ---------------------------------------------------------------


@dataclass(frozen=True)
class Leniency:
    value: float | None
    n: int

    @property
    def flag(self) -> str | None:
        return leniency_flag(self.value, self.n)


def leniency_flag(value: float | None, n: int) -> str | None:
    if value is None or n < LENIENCY_MIN_N:
        return None
    if value >= LENIENCY_THRESHOLD:
        return LENIENT
    if value <= -LENIENCY_THRESHOLD:
        return HARSH
    return None


def leniency_window(period: Period) -> Period:
    """The 12 months ending with ``period``'s (last) month."""
    last = Period.month(f"{period.end - timedelta(days=1):%Y-%m}")
    return Period(last.months_back(12)[0].start, last.end, False)


def leniency(period: Period) -> dict[int, Leniency]:
    """Shopper id → leniency and n over the released mystery visits of the 12 months
    ending with ``period``, in SQL: per (shopper, store) the sum and count of V, per store
    the same over everyone; the others' mean is (store sum − own sum) / (store count − own
    count); leniency = Σ (own sum − own count × others' mean) / Σ own count, over the stores
    that have others' visits."""
    window = leniency_window(period)
    base = and_(Visit.kind == MYSTERY, Visit.status.in_(COUNTED_STATUSES),
                Visit.score.is_not(None), Visit.evaluator_id.is_not(None),
                window.includes(Visit.visit_date))
    own = (select(Visit.evaluator_id.label("shopper_id"), Visit.store_id.label("store_id"),
                  func.sum(Visit.score).label("s"), func.count(Visit.id).label("c"))
           .where(base).group_by(Visit.evaluator_id, Visit.store_id).subquery())
    store = (select(Visit.store_id.label("store_id"), func.sum(Visit.score).label("s"),
                    func.count(Visit.id).label("c"))
             .where(base).group_by(Visit.store_id).subquery())
    others_mean = (store.c.s - own.c.s) / (store.c.c - own.c.c)
    rows = db.session.execute(
        select(own.c.shopper_id,
               func.sum(own.c.s - own.c.c * others_mean) / func.sum(own.c.c),
               func.sum(own.c.c))
        .join(store, store.c.store_id == own.c.store_id)
        .where(store.c.c > own.c.c)
        .group_by(own.c.shopper_id))
    return {sid: Leniency(float(value), int(n)) for sid, value, n in rows}


# --- the figures of the profile and the list --------------------------------------------------


@dataclass
class ShopperFigures:
    user: User
    profile: ShopperProfile | None
    by_status: dict[str, int] = field(default_factory=dict)
    reports: int = 0
    avg_grade: float | None = None
    graded: int = 0
    on_time: float | None = None
    returns: int = 0
    rejections: int = 0
    upheld_disputes: int = 0
    leniency: Leniency = field(default_factory=lambda: Leniency(None, 0))
    accuracy: float | None = None
    accuracy_n: int = 0

    @property
    def released(self) -> int:
        """Released reports (a disputed one stays released)."""
        return self.by_status.get(RELEASED, 0) + self.by_status.get(DISPUTED, 0)

    @property
    def standing(self) -> str:
        return self.profile.standing if self.profile else ACTIVE

    @property
    def flags(self) -> list[str]:
        out = []
        if self.leniency.flag:
            out.append(self.leniency.flag)
        if self.standing != ACTIVE:
            out.append(self.standing)
        return out


SORT_KEYS = ("code", "reports", "released", "avg_grade", "on_time", "returns", "rejections",
             "upheld_disputes", "leniency", "accuracy")


def figures(period: Period, user_ids: list[int] | None = None) -> list[ShopperFigures]:
    """Every shopper's (or the given shoppers') figures, each aggregate one SQL query."""
    users = shoppers() if user_ids is None else [
        u for u in shoppers() if u.id in set(user_ids)]
    ids = [u.id for u in users]
    if not ids:
        return []
    profiles = {p.user_id: p for p in db.session.scalars(
        select(ShopperProfile).where(ShopperProfile.user_id.in_(ids)))}
    out = {u.id: ShopperFigures(u, profiles.get(u.id)) for u in users}
    mine = and_(Visit.evaluator_id.in_(ids), Visit.kind.in_(SHOPPER_KINDS))

    for sid, status, count in db.session.execute(
            select(Visit.evaluator_id, Visit.status, func.count(Visit.id))
            .where(mine, Visit.submitted_at.is_not(None))
            .group_by(Visit.evaluator_id, Visit.status)):
        out[sid].by_status[status] = count
        out[sid].reports += count
        if status == REJECTED:
            out[sid].rejections = count

    for sid, avg, count in db.session.execute(
            select(Visit.evaluator_id, func.avg(ReportGrade.grade), func.count(ReportGrade.grade))
            .join(ReportGrade, ReportGrade.visit_id == Visit.id).where(mine)
            .group_by(Visit.evaluator_id)):
        out[sid].avg_grade = float(avg) if avg is not None else None
        out[sid].graded = count

    on_time = case((func.date(Visit.submitted_at) <= func.date(Visit.due_date), 1), else_=0)
    for sid, timely, count in db.session.execute(
            select(Visit.evaluator_id, func.sum(on_time), func.count(Visit.id))
            .where(mine, Visit.submitted_at.is_not(None), Visit.due_date.is_not(None))
            .group_by(Visit.evaluator_id)):
        out[sid].on_time = (timely or 0) / count if count else None

    for sid, count in db.session.execute(
            select(Visit.evaluator_id, func.count(AuditLog.id))
            .join(AuditLog, and_(AuditLog.entity == "visit",
                                 AuditLog.entity_id == cast(Visit.id, String),
                                 AuditLog.action == "return"))
            .where(mine).group_by(Visit.evaluator_id)):
        out[sid].returns = count

    for sid, count in db.session.execute(
            select(Visit.evaluator_id, func.count(Dispute.id))
            .join(Dispute, Dispute.visit_id == Visit.id)
            .where(mine, Dispute.status == DISPUTE_UPHELD).group_by(Visit.evaluator_id)):
        out[sid].upheld_disputes = count

    for sid, right, count in db.session.execute(
            select(Visit.evaluator_id, func.sum(cast(IntegrityAnswer.correct, Integer)),
                   func.count(IntegrityAnswer.question_id))
            .join(IntegrityAnswer, IntegrityAnswer.visit_id == Visit.id)
            .where(mine, IntegrityAnswer.correct.is_not(None))
            .group_by(Visit.evaluator_id)):
        out[sid].accuracy = (right or 0) / count if count else None
        out[sid].accuracy_n = count

    for sid, value in leniency(period).items():
        if sid in out:
            out[sid].leniency = value
    return list(out.values())


def sort_figures(rows: list[ShopperFigures], key: str, descending: bool) -> list[ShopperFigures]:
    def value(f: ShopperFigures):
        return {
            "code": f.user.username, "reports": f.reports,
            "released": f.released,
            "avg_grade": f.avg_grade, "on_time": f.on_time, "returns": f.returns,
            "rejections": f.rejections, "upheld_disputes": f.upheld_disputes,
            "leniency": f.leniency.value, "accuracy": f.accuracy,
        }[key]
    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present.sort(key=lambda r: (value(r), r.user.username), reverse=descending)
    return present + missing  # no value last, whichever the direction


# --- profile, standing, availability -----------------------------------------------------------


def profile_of(user: User, create: bool = False) -> ShopperProfile | None:
    row = db.session.get(ShopperProfile, user.id)
    if row is None and create:
        row = ShopperProfile(user_id=user.id, home_city="", home_area="", standing=ACTIVE,
                             standing_reason="", payout_method="", payout_name="",
                             payout_account="")
        db.session.add(row)
    return row


HOME_FIELDS = ("home_city", "home_area")
PAYOUT_FIELDS = ("payout_method", "payout_name", "payout_account")


def update_profile(user: User, values: dict[str, str], actor_id: int | None,
                   fields: tuple[str, ...]) -> None:
    row = profile_of(user, create=True)
    before = {f: getattr(row, f) for f in fields}
    after = {f: (values.get(f) or "").strip() for f in fields}
    if before == after:
        return
    for f, v in after.items():
        setattr(row, f, v)
    log_change("shopper_profile", user.id, "update", actor_id, before, after)


def set_standing(user: User, standing: str, reason: str, actor_id: int | None) -> None:
    """HQ suspends or blacklists a shopper (with a reason), or restores them."""
    if standing not in STANDINGS:
        raise ShopperError(_("Unknown standing."))
    reason = (reason or "").strip()
    if standing != ACTIVE and not reason:
        raise ShopperError(_("Say why: the reason is kept with the standing."))
    row = profile_of(user, create=True)
    before = {"standing": row.standing, "reason": row.standing_reason}
    row.standing = standing
    row.standing_reason = reason
    log_change("shopper_profile", user.id, "standing", actor_id, before,
               {"standing": standing, "reason": reason})


def unavailable_days(user_id: int) -> list[date]:
    return list(db.session.scalars(select(ShopperUnavailable.day)
                                   .where(ShopperUnavailable.user_id == user_id)
                                   .order_by(ShopperUnavailable.day)))


def set_unavailable(user: User, first: date, last: date, actor_id: int | None) -> int:
    """Mark the days from ``first`` to ``last`` unavailable (at most 92 days at once)."""
    if last < first:
        raise ShopperError(_("The last day cannot be before the first."))
    if (last - first).days > 91:
        raise ShopperError(_("Mark at most 92 days at once."))
    have = set(unavailable_days(user.id))
    added = []
    day = first
    while day <= last:
        if day not in have:
            db.session.add(ShopperUnavailable(user_id=user.id, day=day))
            added.append(day.isoformat())
        day += timedelta(days=1)
    if added:
        log_change("shopper_profile", user.id, "unavailable", actor_id, None, {"days": added})
    return len(added)


def clear_unavailable(user: User, day: date, actor_id: int | None) -> None:
    db.session.execute(delete(ShopperUnavailable).where(
        ShopperUnavailable.user_id == user.id, ShopperUnavailable.day == day))
    log_change("shopper_profile", user.id, "available", actor_id, {"days": [day.isoformat()]},
               None)


# --- what the scheduler asks ---------------------------------------------------------------------


def assignment_window(month: str, today: date | None = None) -> tuple[date, date]:
    """The days a visit of ``month`` can be made: the month, from today on."""
    period = Period.month(month)
    first, last = period.start, period.end - timedelta(days=1)
    today = today or date.today()
    return (max(first, today) if today <= last else first), last


@dataclass
class SchedulingFacts:
    """What the scheduler needs to know about the shoppers, read in a few queries."""

    standing: dict[int, tuple[str, str]]
    city: dict[int, str]
    avg_grade: dict[int, float]
    unavailable: dict[int, set[date]]
    certified: set[tuple[int, str]]
    quiz_required: set[str]


def scheduling_facts() -> SchedulingFacts:
    standing, city = {}, {}
    for p in db.session.scalars(select(ShopperProfile)):
        standing[p.user_id] = (p.standing, p.standing_reason)
        city[p.user_id] = (p.home_city or "").strip().casefold()
    avg = {sid: float(g) for sid, g in db.session.execute(
        select(Visit.evaluator_id, func.avg(ReportGrade.grade))
        .join(ReportGrade, ReportGrade.visit_id == Visit.id).group_by(Visit.evaluator_id))}
    unavailable: dict[int, set[date]] = {}
    for uid, day in db.session.execute(select(ShopperUnavailable.user_id,
                                              ShopperUnavailable.day)):
        unavailable.setdefault(uid, set()).add(day)
    certified = {(uid, code) for uid, code in db.session.execute(
        select(QuizAttempt.user_id, QuizAttempt.questionnaire_code)
        .where(QuizAttempt.passed.is_(True)).distinct())}
    required = set(db.session.scalars(select(QuizSetting.questionnaire_code)
                                      .where(QuizSetting.required.is_(True))))
    return SchedulingFacts(standing, city, avg, unavailable, certified, required)


def ineligibility(facts: SchedulingFacts, shopper: User, store: Store, month: str,
                  questionnaire_code: str | None) -> str | None:
    """Why the workforce rules keep ``shopper`` off this visit (None: they do not):
    suspended or blacklisted, unavailable every day the visit can be made, or not
    certified for a questionnaire that needs the quiz."""
    standing, _reason = facts.standing.get(shopper.id, (ACTIVE, ""))
    if standing == SUSPENDED:
        return _("%(user)s is suspended.", user=shopper.username)
    if standing == BLACKLISTED:
        return _("%(user)s is blacklisted.", user=shopper.username)
    first, last = assignment_window(month)
    days = facts.unavailable.get(shopper.id, set())
    if days and all(first + timedelta(days=i) in days
                    for i in range((last - first).days + 1)):
        return _("%(user)s is unavailable for the whole of %(month)s.",
                 user=shopper.username, month=month)
    if questionnaire_code in facts.quiz_required and \
            (shopper.id, questionnaire_code) not in facts.certified:
        return _("%(user)s has not passed the certification quiz.", user=shopper.username)
    return None


def preference(facts: SchedulingFacts, shopper: User, store: Store) -> tuple:
    """Among shoppers with the same load: nearby (home city = the store's city) first,
    then the better average grade (ungraded as 5.5, the middle of the scale)."""
    near = bool(store.city) and facts.city.get(shopper.id) == store.city.strip().casefold()
    return (0 if near else 1, -facts.avg_grade.get(shopper.id, 5.5))


# --- the certification quiz --------------------------------------------------------------------


def quiz_setting(code: str) -> QuizSetting | None:
    return db.session.get(QuizSetting, code)


def quiz_questions(code: str) -> list[QuizQuestion]:
    return list(db.session.scalars(select(QuizQuestion)
                                   .where(QuizQuestion.questionnaire_code == code)
                                   .order_by(QuizQuestion.position, QuizQuestion.id)))


def save_quiz_setting(code: str, required: bool, pass_mark: int, actor_id: int | None) -> None:
    if not 1 <= pass_mark <= 100:
        raise ShopperError(_("The pass mark is a percentage from 1 to 100."))
    if required and not quiz_questions(code):
        raise ShopperError(_("Add the quiz's questions before requiring it."))
    row = quiz_setting(code)
    before = None if row is None else {"required": row.required, "pass_mark": row.pass_mark}
    if row is None:
        row = QuizSetting(questionnaire_code=code)
        db.session.add(row)
    row.required, row.pass_mark = required, pass_mark
    log_change("quiz", code, "settings", actor_id, before,
               {"required": required, "pass_mark": pass_mark})


def parse_options(text: str) -> list[str]:
    options = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not 2 <= len(options) <= 8:
        raise ShopperError(_("Give from 2 to 8 options, one a line."))
    return options


def add_quiz_question(code: str, text: str, options: list[str], correct: int,
                      actor_id: int | None) -> QuizQuestion:
    text = (text or "").strip()
    if not text:
        raise ShopperError(_("Write the question."))
    if not 0 <= correct < len(options):
        raise ShopperError(_("Say which option is correct."))
    q = QuizQuestion(questionnaire_code=code, text=text, options=options, correct=correct,
                     position=len(quiz_questions(code)))
    db.session.add(q)
    db.session.flush()
    log_change("quiz_question", q.id, "create", actor_id, None,
               {"code": code, "text": text, "options": options, "correct": correct})
    return q


def delete_quiz_question(q: QuizQuestion, actor_id: int | None) -> None:
    log_change("quiz_question", q.id, "delete", actor_id,
               {"code": q.questionnaire_code, "text": q.text}, None)
    db.session.delete(q)


def is_certified(user_id: int, code: str) -> bool:
    return db.session.scalar(select(QuizAttempt.id).where(
        QuizAttempt.user_id == user_id, QuizAttempt.questionnaire_code == code,
        QuizAttempt.passed.is_(True)).limit(1)) is not None


def take_quiz(user: User, code: str, answers: dict[int, int]) -> QuizAttempt:
    """Mark the shopper's answers (question id → option index) and keep the attempt."""
    questions = quiz_questions(code)
    if not questions:
        raise ShopperError(_("This questionnaire has no quiz."))
    missing = [q for q in questions if q.id not in answers]
    if missing:
        raise ShopperError(_("Answer every question."))
    right = sum(1 for q in questions if answers[q.id] == q.correct)
    setting = quiz_setting(code)
    mark = setting.pass_mark if setting else 80
    passed = right * 100 >= mark * len(questions)
    attempt = QuizAttempt(user_id=user.id, questionnaire_code=code, correct=right,
                          total=len(questions), passed=passed)
    db.session.add(attempt)
    log_change("quiz", code, "attempt", user.id, None,
               {"user_id": user.id, "correct": right, "total": len(questions),
                "passed": passed})
    return attempt


def quizzes_to_take(user: User) -> list[str]:
    """Questionnaire codes that require a quiz this shopper has not passed."""
    required = db.session.scalars(select(QuizSetting.questionnaire_code)
                                  .where(QuizSetting.required.is_(True)))
    return [c for c in required if not is_certified(user.id, c)]


def certified_codes(user_id: int) -> set[str]:
    return set(db.session.scalars(select(QuizAttempt.questionnaire_code).where(
        QuizAttempt.user_id == user_id, QuizAttempt.passed.is_(True))))
