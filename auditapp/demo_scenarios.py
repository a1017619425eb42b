"""Demo data for scenario shops (issue #24) and automatic corrective actions (issue #17
item 6), called by ``demo.seed_demo`` once its visits exist, so the pages show real figures:
three scenarios, about one released visit in three per store carrying one (every store within
each quarter, never the same scenario twice running), the current month's assignments given
theirs by the scheduler's rule, and the automatic actions the releases would have opened
and followed up."""

from __future__ import annotations

import random

from sqlalchemy import select

from . import corrective, scenarios, scoring
from .extensions import db
from .models import Scenario, ScenarioVisit, Visit
from .models.visit import ASSIGNED, MYSTERY, QA, RELEASED

SCENARIOS = (
    ("SC-FRIES", "Cold fries", "薯条是凉的",
     "Once you have your order, go back to the counter and tell the cashier your fries are "
     "cold. Ask what they can do.",
     "拿到餐后回到柜台，告诉收银员您的薯条是凉的，并询问他们能怎么处理。",
     ["walk_in", "dine_in", "drive_thru"]),
    ("SC-MISSING", "Missing item", "少了一样餐品",
     "Tell the crew one item of your order is missing (choose the drink). Let them "
     "explain before you say anything else.",
     "告诉员工您的订单少了一样餐品（选饮料），在您再说话前先让他们回应。",
     ["walk_in", "drive_thru"]),
    ("SC-TABLE", "Sticky table", "餐桌黏手",
     "Sit down, then tell a crew member your table is sticky and ask for it to be cleaned.",
     "就座后告诉员工餐桌黏手，请他们清洁。",
     ["dine_in"]),
)

#: How likely staff take each step, before the store's own quality: apologising after the
#: thanks and asking whether the remedy is acceptable are missed most.
STEP_BASE = (0.85, 0.8, 0.55, 0.7, 0.45)


def seed(hq_user_id: int | None, rng: random.Random) -> dict:
    rows = {}
    for code, title, title_zh, script, script_zh, types in SCENARIOS:
        rows[code] = scenarios.create_scenario(
            {"code": code, "title": title, "title_zh": title_zh, "script": script,
             "script_zh": script_zh, "visit_types": types}, hq_user_id)
    db.session.flush()
    released = list(db.session.scalars(
        select(Visit).where(Visit.kind == MYSTERY, Visit.status == RELEASED,
                            Visit.store_id.is_not(None))
        .order_by(Visit.store_id, Visit.month)))
    last_code: dict[int, str] = {}
    given = 0
    for index, visit in enumerate(released):
        if (index + visit.store_id) % 3:
            continue
        fitting = [s for s in rows.values() if visit.visit_type in s.visit_types
                   and s.code != last_code.get(visit.store_id)]
        if not fitting:
            continue
        scenario = fitting[rng.randrange(len(fitting))]
        last_code[visit.store_id] = scenario.code
        quality = (visit.score or 60.0) / 100.0
        steps = [rng.random() < min(0.98, base * (0.6 + 0.5 * quality)) for base in STEP_BASE]
        taken = sum(steps)
        handling = scoring.SCALE7_LEVELS[min(6, 1 + taken + (taken == 5))]
        db.session.add(ScenarioVisit(
            visit_id=visit.id, scenario_id=scenario.id, step1=steps[0], step2=steps[1],
            step3=steps[2], step4=steps[3], step5=steps[4], handling=handling,
            comment="", rs=scoring.recovery_score(steps)))
        given += 1
    db.session.flush()
    assigned_months = set(db.session.scalars(
        select(Visit.month).where(Visit.kind == MYSTERY, Visit.status == ASSIGNED)))
    for month in sorted(assigned_months):
        scenarios.assign_month(month, hq_user_id)
    # what the releases would have opened and followed up, oldest first
    opened = 0
    for visit in db.session.scalars(
        select(Visit).where(Visit.kind.in_((MYSTERY, QA)), Visit.status == RELEASED,
                            Visit.store_id.is_not(None))
        .order_by(Visit.visit_date, Visit.id)):
        opened += len(corrective.on_release(visit))
    return {"scenarios": len(rows), "scenario_visits": given, "auto_actions": opened,
            "scenario_versions": db.session.query(Scenario).count()}
