"""Scenario shops (issue #24, SCORING.md §13): the shopper raises a scripted problem and
records how staff handled it, against the first five of the seven complaint-handling steps.

- **Scenarios** are written by HQ (title, script in English and Chinese, the visit types
  they fit) and versioned like questionnaires: an edit creates a new version and retires the
  old one; a visit keeps the version it was given (``ScenarioVisit.scenario_id``).
- **Scheduling** (``assign_month``, called by ``scheduling.generate_month``): a share of the
  month's visits (HQ setting ``scenarios.share``, effective-dated, default one in four)
  carries a scenario; every store gets one within each calendar quarter (the share is a
  minimum: the quarter rule may raise it), and a store never gets the same scenario at two
  scenario visits running when another fits.
- **Results** (the five steps yes/no, N/A not allowed; how satisfied the shopper was with
  how the problem was handled, a CSM level; a comment) live in ``scenario_visits``, never
  among the questionnaire items or BDI dimensions. RS = 100 × steps observed / 5.
- **Figures**: a store's RS over the rolling three months ending with the period, with n;
  region and brand = mean of store RS (SQL GROUP BY). RS joins the BDI only when HQ gives
  it a weight c_RS (``ScoringConfig.rs_weight``, default 0).
- **Anonymity**: the script, the scenario's title and the shopper's comment are for the
  shopper and HQ; a manager sees the steps, their meaning and RS only.

Services change the session and never commit.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import has_request_context
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, case, func, select

from . import scoring
from .analytics import Period, counts_in
from .audit import log_change
from .extensions import db
from .inputs import TEXT_LIMIT, text_problem
from .models import Region, Scenario, ScenarioVisit, Store, Visit
from .models.followup import ACTION_OPEN, SOURCE_SCENARIO, CorrectiveAction
from .models.scenario import SCENARIO_ACTIVE, SCENARIO_RETIRED
from .models.visit import ASSIGNED, CANCELLED, MYSTERY
from .settings import get_setting, save_setting

SETTING_KEY = "scenarios"
#: One visit in four carries a scenario unless HQ sets another share.
DEFAULT_SHARE = 0.25
STEPS = scoring.RECOVERY_STEPS
STEP_COLUMNS = (ScenarioVisit.step1, ScenarioVisit.step2, ScenarioVisit.step3,
                ScenarioVisit.step4, ScenarioVisit.step5)

#: The step names and what each means (from the method), shown to shoppers, managers, HQ.
STEP_LABELS = {
    "thank": _l("Thanked the customer for raising the problem"),
    "listen": _l("Let the customer explain and listened with empathy"),
    "apologise": _l("Apologised (after thanking, not as the first word)"),
    "ask": _l("Asked questions to understand the problem"),
    "remedy": _l("Offered a remedy and asked whether it was acceptable"),
}
STEP_MEANINGS = {
    "thank": _l("A complaint is a gift: the customer tells you what to fix instead of "
                "leaving. Start by thanking them for telling you."),
    "listen": _l("Let the customer finish without interrupting; show you understand how "
                 "they feel before you explain anything."),
    "apologise": _l("Say sorry for the trouble, after the thanks: an apology as the first "
                    "word sounds like a reflex, not like care."),
    "ask": _l("Ask what happened and what they expected, so the remedy fixes the real "
              "problem."),
    "remedy": _l("Offer a concrete remedy (replace, refund, redo) and ask whether it is "
                 "acceptable: the customer decides when it is put right."),
}


def _(text: str, **variables: object) -> str:
    """gettext that also works outside a request (the CLI, jobs: the terminal's language)."""
    if has_request_context():
        return gettext(text, **variables)
    from .i18n import cli_locale

    with force_locale(cli_locale()):
        return gettext(text, **variables)


class ScenarioError(ValueError):
    """A scenario change the rules refuse; the message says why."""


# --- scenarios (HQ) -------------------------------------------------------------------------


def active_scenarios() -> list[Scenario]:
    return list(db.session.scalars(
        select(Scenario).where(Scenario.status == SCENARIO_ACTIVE).order_by(Scenario.code)))


def all_scenarios() -> list[Scenario]:
    return list(db.session.scalars(
        select(Scenario).order_by(Scenario.code, Scenario.version.desc())))


def _check(fields: dict) -> dict:
    clean = {k: str(fields.get(k) or "").strip()
             for k in ("title", "title_zh", "script", "script_zh")}
    if not clean["title"] or not clean["script"]:
        raise ScenarioError(_("A scenario needs a title and a script."))
    for value in clean.values():
        if problem := text_problem(value):
            raise ScenarioError(problem)
    types = [t for t in (fields.get("visit_types") or []) if t in scoring.VISIT_TYPES]
    if not types:
        raise ScenarioError(_("Choose at least one visit type the scenario fits."))
    clean["visit_types"] = types
    return clean


def create_scenario(fields: dict, user_id: int | None) -> Scenario:
    clean = _check(fields)
    code = str(fields.get("code") or "").strip().upper()[:40]
    if not code:
        code = f"SC{(db.session.scalar(select(func.count(Scenario.id))) or 0) + 1:03d}"
    if db.session.scalar(select(Scenario.id).where(Scenario.code == code).limit(1)):
        raise ScenarioError(_("A scenario with this code already exists."))
    row = Scenario(code=code, version=1, status=SCENARIO_ACTIVE, created_by_id=user_id,
                   **clean)
    db.session.add(row)
    db.session.flush()
    log_change("scenario", row.id, "create", user_id, None, {"code": code, **clean})
    return row


def update_scenario(scenario: Scenario, fields: dict, user_id: int | None) -> Scenario:
    """An edit creates the next version and retires this one; visits already given this
    version keep it."""
    if scenario.status != SCENARIO_ACTIVE:
        raise ScenarioError(_("Only the current version of a scenario can be edited."))
    clean = _check(fields)
    scenario.status = SCENARIO_RETIRED
    row = Scenario(code=scenario.code, version=scenario.version + 1, status=SCENARIO_ACTIVE,
                   created_by_id=user_id, **clean)
    db.session.add(row)
    db.session.flush()
    log_change("scenario", row.id, "new_version", user_id, {"id": scenario.id,
               "version": scenario.version}, {"version": row.version, **clean})
    return row


def retire_scenario(scenario: Scenario, user_id: int | None) -> None:
    if scenario.status == SCENARIO_RETIRED:
        return
    scenario.status = SCENARIO_RETIRED
    log_change("scenario", scenario.id, "retire", user_id, {"status": SCENARIO_ACTIVE},
               {"status": SCENARIO_RETIRED})


def share(month: object = None) -> float:
    """The share of a month's visits that carries a scenario (effective-dated setting)."""
    try:
        value = float(get_setting(SETTING_KEY, month).get("share", DEFAULT_SHARE))
    except (TypeError, ValueError):
        return DEFAULT_SHARE
    return min(1.0, max(0.0, value)) if math.isfinite(value) else DEFAULT_SHARE


def save_share(value: Any, user_id: int | None, effective_from: str | None) -> None:
    try:
        x = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        x = -1.0
    if not math.isfinite(x) or not 0 <= x <= 1:
        raise ScenarioError(_("The share must be a number from 0 to 1 (e.g. 0.25)."))
    save_setting(SETTING_KEY, {"share": x}, user_id, effective_from)


# --- scheduling -----------------------------------------------------------------------------


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def quarter_months(month: str) -> list[str]:
    """The months of ``month``'s calendar quarter, in order."""
    first = _month_index(month) // 3 * 3
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(first, first + 3)]


def scenario_for(visit: Visit | int) -> ScenarioVisit | None:
    visit_id = visit if isinstance(visit, int) else visit.id
    return db.session.get(ScenarioVisit, visit_id)


def assign_month(month: str, user_id: int | None = None) -> list[ScenarioVisit]:
    """Give scenarios to the month's assigned mystery visits (idempotent: visits that
    already carry one keep it, and the count includes them).

    How many: at least ``share(month)`` of the month's visits (rounded up), and at least
    what the quarter rule needs: the stores without a scenario visit yet this quarter,
    spread over the quarter's remaining months. Which visits: stores without one this
    quarter first, then the stores whose last scenario visit is oldest. Which scenario: one
    fitting the visit type, never the store's previous scenario when another fits, the one
    the store has had least (then the least used this month)."""
    scenarios = active_scenarios()
    if not scenarios:
        return []
    visits = list(db.session.scalars(
        select(Visit).join(Store, Store.id == Visit.store_id)
        .where(Visit.kind == MYSTERY, Visit.month == month, Visit.status != CANCELLED)
        .order_by(Store.code)))
    if not visits:
        return []
    carried = {v.visit_id: v for v in db.session.scalars(
        select(ScenarioVisit).where(ScenarioVisit.visit_id.in_([v.id for v in visits])))}
    # every store's earlier scenario visits: (month, scenario code), oldest first
    history: dict[int, list[tuple[str, str]]] = {}
    for store_id, vmonth, code in db.session.execute(
        select(Visit.store_id, Visit.month, Scenario.code)
        .join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)
        .join(Scenario, Scenario.id == ScenarioVisit.scenario_id)
        .where(Visit.kind == MYSTERY, Visit.month < month, Visit.status != CANCELLED)
        .order_by(Visit.month)
    ):  # a cancelled visit (#18 bulk cancel) made no scenario visit: it does not count
        history.setdefault(store_id, []).append((vmonth, code))
    quarter = quarter_months(month)
    had_this_quarter = {sid for sid, rows in history.items()
                        if any(m >= quarter[0] for m, _ in rows)}
    had_this_quarter |= {v.store_id for v in visits if v.id in carried}
    months_left = 3 - quarter.index(month)
    due = [v for v in visits if v.store_id not in had_this_quarter]
    wanted = max(math.ceil(share(month) * len(visits) - 1e-9),
                 len(carried) + math.ceil(len(due) / months_left))
    to_add = wanted - len(carried)
    if to_add <= 0:
        return []
    candidates = [v for v in visits if v.id not in carried and v.status == ASSIGNED]
    candidates.sort(key=lambda v: (v.store_id in had_this_quarter,
                                   (history.get(v.store_id) or [("", "")])[-1][0],
                                   v.store.code))
    used: Counter[str] = Counter(carried[v].scenario.code for v in carried)
    created = []
    for visit in candidates:
        if to_add <= 0:
            break
        fitting = [s for s in scenarios if visit.visit_type in (s.visit_types or [])]
        if not fitting:
            continue
        past = history.get(visit.store_id, [])
        previous = past[-1][1] if past else None
        if len(fitting) > 1 and previous is not None:
            fitting = [s for s in fitting if s.code != previous]
        times = Counter(code for _, code in past)
        choice = min(fitting, key=lambda s: (times[s.code], used[s.code], s.code))
        used[choice.code] += 1
        row = ScenarioVisit(visit_id=visit.id, scenario_id=choice.id, comment="")
        db.session.add(row)
        created.append(row)
        to_add -= 1
    if created:
        db.session.flush()
        log_change("schedule", month, "scenarios", user_id, None,
                   {"visits": {r.visit_id: r.scenario_id for r in created}})
    return created


def give_scenario(visit: Visit, scenario: Scenario, user_id: int | None) -> ScenarioVisit:
    """HQ gives one not-yet-submitted visit a scenario by hand (or changes it)."""
    if visit.kind != MYSTERY or visit.status != ASSIGNED:
        raise ScenarioError(_("Only an assigned mystery-shop visit can get a scenario."))
    if scenario.status != SCENARIO_ACTIVE or visit.visit_type not in scenario.visit_types:
        raise ScenarioError(_("This scenario does not fit the visit's type."))
    row = scenario_for(visit) or ScenarioVisit(visit_id=visit.id, comment="")
    before = row.scenario_id
    row.scenario_id = scenario.id
    db.session.add(row)
    db.session.flush()
    log_change("visit", visit.id, "scenario", user_id, {"scenario_id": before},
               {"scenario_id": scenario.id})
    return row


# --- the form: reading, checking, saving ----------------------------------------------------

_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no")


def payload_from_form(form) -> dict:
    """The no-JS form's scenario fields (``sc_1`` … ``sc_5``, ``sc_handling``,
    ``sc_comment``) as the payload's ``scenario`` object."""
    return {
        "steps": {str(n): form.get(f"sc_{n}") for n in range(1, len(STEPS) + 1)},
        "handling": form.get("sc_handling"),
        "comment": form.get("sc_comment", ""),
    }


def clean_payload(raw: Any) -> dict | None:
    """The scenario part of a payload, reduced to short scalar values (None: none sent)."""
    if not isinstance(raw, dict):
        return None
    steps_in = raw.get("steps") if isinstance(raw.get("steps"), dict) else {}
    steps = {}
    for n in range(1, len(STEPS) + 1):
        value = steps_in.get(str(n))
        steps[str(n)] = value if isinstance(value, (bool, int, float, str, type(None))) \
            and len(str(value)) <= 10 else None
    handling = raw.get("handling")
    if not isinstance(handling, (int, float, str, type(None))) or len(str(handling)) > 10:
        handling = None
    return {"steps": steps, "handling": handling,
            "comment": str(raw.get("comment") or "")[:TEXT_LIMIT + 1]}


def _step_value(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value if value is not None else "").strip().lower()
    return True if text in _YES else False if text in _NO else None


def check(visit: Visit, raw: Any) -> tuple[dict | None, dict[str, str]]:
    """The scenario answers of a submission, checked: (clean values, errors keyed
    ``scenario_step<n>``, ``scenario_handling``, ``scenario_comment``). Nothing for a visit
    without a scenario."""
    row = scenario_for(visit)
    if row is None:
        return None, {}
    data = clean_payload(raw) or {"steps": {}, "handling": None, "comment": ""}
    errors: dict[str, str] = {}
    steps = []
    for n in range(1, len(STEPS) + 1):
        value = _step_value(data["steps"].get(str(n)))
        if value is None:
            errors[f"scenario_step{n}"] = _(
                "Complaint handling, step %(n)s: please answer yes or no (N/A is not "
                "allowed).", n=n)
        steps.append(value)
    handling = data["handling"]
    try:
        level = float(str(handling).strip()) if handling not in (None, "") else None
    except ValueError:
        level = None
    if level not in scoring.SCALE7_LEVELS:
        errors["scenario_handling"] = _(
            "Complaint handling: choose how satisfied you were with how the problem was "
            "handled (one of the seven levels).")
    comment = data["comment"].strip()
    if problem := text_problem(comment):
        errors["scenario_comment"] = problem
    if errors:
        return None, errors
    return {"row": row, "steps": steps, "handling": int(level), "comment": comment}, {}


def save_result(visit: Visit, clean: dict | None) -> None:
    """Store the checked answers and RS (at submission, in the caller's transaction)."""
    if clean is None:
        return
    row = clean["row"]  # read by ``check`` (no second query)
    for column, value in zip(("step1", "step2", "step3", "step4", "step5"),
                             clean["steps"], strict=True):
        setattr(row, column, bool(value))
    row.handling = clean["handling"]
    row.comment = clean["comment"]
    row.rs = scoring.recovery_score(clean["steps"])


def form_state(visit: Visit, draft: dict | None) -> dict:
    """What the scenario section shows: the draft's values, else the stored ones."""
    if draft and isinstance(draft.get("scenario"), dict):
        data = clean_payload(draft["scenario"]) or {}
        steps = {k: _step_value(v) for k, v in (data.get("steps") or {}).items()}
        return {"steps": steps, "handling": data.get("handling"),
                "comment": data.get("comment", "")}
    row = scenario_for(visit)
    if row is None:
        return {"steps": {}, "handling": None, "comment": ""}
    return {"steps": {str(n): v for n, v in enumerate(row.steps(), start=1)},
            "handling": row.handling, "comment": row.comment}


def shopper_json(visit: Visit, zh: bool = False) -> dict | None:
    """The scenario as the shopper's API gives it (None for a plain shop): the script, the
    steps to answer and how the answers are sent (the payload's ``scenario`` object)."""
    row = scenario_for(visit)
    if row is None:
        return None
    sc = row.scenario
    return {
        "code": sc.code, "version": sc.version,
        "title": sc.title_zh if zh and sc.title_zh else sc.title,
        "script": sc.script_zh if zh and sc.script_zh else sc.script,
        "steps": [{"step": n, "code": code, "text": str(STEP_LABELS[code])}
                  for n, code in enumerate(STEPS, start=1)],
        "handling_levels": list(scoring.SCALE7_LEVELS),
    }


# --- figures --------------------------------------------------------------------------------


def rs_window(period: Period) -> Period:
    """The three months ending with the period's last month (SCORING.md §13)."""
    last = period.end - timedelta(days=1)
    index = last.year * 12 + last.month - 1 - (scoring.RS_WINDOW_MONTHS - 1)
    start = date(index // 12, index % 12 + 1, 1)
    return Period(min(start, period.start), period.end, False)


def _counted_scenarios(period: Period) -> list:
    return [Visit.kind == MYSTERY, Visit.counted, ScenarioVisit.rs.is_not(None),
            rs_window(period).includes(Visit.visit_date), Visit.store_id.is_not(None)]


def rs_store_query(period: Period):
    """One row per store with a released scenario visit in the window: store_id, rs, n."""
    return (
        select(Visit.store_id.label("store_id"), func.avg(ScenarioVisit.rs).label("rs"),
               func.count(Visit.id).label("n"))
        .join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)
        .where(*_counted_scenarios(period))
        .group_by(Visit.store_id)
    )


@dataclass(frozen=True)
class StoreRecovery:
    store_id: int
    code: str
    name: str
    region_name: str
    rs: float
    n: int
    rank: int = 0


def store_recovery(period: Period, store_ids: list[int] | None = None) -> list[StoreRecovery]:
    """Each store's RS (rolling three months) with n, best first, ranked (1 = best)."""
    sub = rs_store_query(period).subquery()
    query = (select(Store.id, Store.code, Store.name, Region.name, sub.c.rs, sub.c.n)
             .join(sub, sub.c.store_id == Store.id)
             .join(Region, Region.id == Store.region_id)
             .where(counts_in(period))
             .order_by(sub.c.rs.desc(), Store.code))
    if store_ids is not None:
        query = query.where(Store.id.in_(store_ids))
    rows = [StoreRecovery(sid, code, name, region, float(rs), int(n))
            for sid, code, name, region, rs, n in db.session.execute(query)]
    out, rank, previous = [], 0, None
    for i, row in enumerate(rows, start=1):
        if previous is None or scoring.exact(row.rs) != scoring.exact(previous):
            rank = i
        previous = row.rs
        out.append(StoreRecovery(**{**row.__dict__, "rank": rank}))
    return out


@dataclass(frozen=True)
class GroupRecovery:
    id: int | None
    name: str
    rs: float | None
    stores: int
    visits: int


def region_recovery(period: Period) -> list[GroupRecovery]:
    """Each region's RS: the mean of its stores' RS (each store once)."""
    sub = rs_store_query(period).subquery()
    query = (select(Region.id, Region.name, func.avg(sub.c.rs), func.count(sub.c.store_id),
                    func.coalesce(func.sum(sub.c.n), 0))
             .join(Store, Store.region_id == Region.id)
             .join(sub, sub.c.store_id == Store.id)
             .where(counts_in(period))
             .group_by(Region.id, Region.name).order_by(Region.name))
    return [GroupRecovery(rid, name, float(rs) if rs is not None else None, int(k), int(n))
            for rid, name, rs, k, n in db.session.execute(query)]


def brand_recovery(period: Period) -> GroupRecovery:
    sub = rs_store_query(period).subquery()
    rs, k, n = db.session.execute(
        select(func.avg(sub.c.rs), func.count(sub.c.store_id),
               func.coalesce(func.sum(sub.c.n), 0))
        .join(Store, Store.id == sub.c.store_id).where(counts_in(period))).one()
    return GroupRecovery(None, "", float(rs) if rs is not None else None, int(k), int(n))


@dataclass(frozen=True)
class StepFigure:
    number: int
    code: str
    #: Lazy translations: rendered in the reader's language.
    label: object
    meaning: object
    visits: int
    missed: int

    @property
    def missed_rate(self) -> float | None:
        return self.missed / self.visits * 100.0 if self.visits else None


def step_figures(period: Period, store_ids: list[int] | None = None) -> list[StepFigure]:
    """Per step: scenario visits in the window and how many missed it, most missed first
    (one GROUP-free aggregate over the visits)."""
    misses = [func.coalesce(func.sum(case((column.is_(False), 1), else_=0)), 0).cast(Integer)
              for column in STEP_COLUMNS]
    query = (select(func.count(Visit.id), *misses)
             .join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)
             .where(*_counted_scenarios(period)))
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    total, *missed = db.session.execute(query).one()
    out = [StepFigure(n, code, STEP_LABELS[code], STEP_MEANINGS[code],
                      int(total or 0), int(m or 0))
           for n, (code, m) in enumerate(zip(STEPS, missed, strict=True), start=1)]
    return sorted(out, key=lambda s: (-s.missed, s.number))


def store_rs(period: Period, store_id: int) -> tuple[float | None, int]:
    row = db.session.execute(
        rs_store_query(period).where(Visit.store_id == store_id)).first()
    return (float(row.rs), int(row.n)) if row else (None, 0)


# --- coaching -------------------------------------------------------------------------------
# A manager sees the steps their staff missed only summed over the store's scenario visits
# of the window, never per visit: a complaint is what staff remember, so tying one to a
# dated visit would point at the shopper.


def store_steps(period: Period, store_id: int) -> list[StepFigure]:
    return step_figures(period, [store_id])


def step_actions(store_id: int) -> dict[int, CorrectiveAction]:
    """The store's newest coaching action per step (any status)."""
    rows = db.session.scalars(
        select(CorrectiveAction).join(Visit, Visit.id == CorrectiveAction.visit_id)
        .where(Visit.store_id == store_id, CorrectiveAction.scenario_step.is_not(None))
        .order_by(CorrectiveAction.id))
    return {row.scenario_step: row for row in rows}


def add_step_action(store: Store, period: Period, step: int, action: str, owner: str,
                    due: date | None, user) -> CorrectiveAction:
    """A manager records a corrective action (training) for a step staff missed in the
    window; it is filed on the store's latest released scenario visit that missed it (the
    manager's pages never name that visit)."""
    from .permissions import can_follow_up

    if not 1 <= step <= len(STEPS):
        raise ScenarioError(_("Corrective actions are for the steps staff missed."))
    column = STEP_COLUMNS[step - 1]
    visit = db.session.scalar(
        select(Visit).join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)
        .where(*_counted_scenarios(period), Visit.store_id == store.id, column.is_(False))
        .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(1))
    if visit is None:
        raise ScenarioError(_("Corrective actions are for the steps staff missed."))
    if not can_follow_up(user, visit):
        raise ScenarioError(_("You cannot add actions to this visit."))
    action = (action or "").strip()
    if not action:
        raise ScenarioError(_("Describe the action."))
    if problem := text_problem(action):
        raise ScenarioError(problem)
    if due is None:
        raise ScenarioError(_("Enter a due date (YYYY-MM-DD)."))
    row = CorrectiveAction(visit=visit, answer=None, action=action,
                           owner=(owner or "").strip()[:120], due_date=due,
                           status=ACTION_OPEN, created_by_id=user.id,
                           source=SOURCE_SCENARIO, scenario_step=step)
    db.session.add(row)
    db.session.flush()
    log_change("corrective_action", row.id, "create", user.id, None,
               {"scenario_step": step, "action": action, "owner": row.owner,
                "due_date": due.isoformat()})
    return row
