"""Builders shared by the shopper tests: an open assignment, a real JPEG, a full payload."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from PIL import Image

from auditapp import scoring
from auditapp.extensions import db
from auditapp.models import Visit, utcnow
from auditapp.visits import new_access_token

#: The arrival time a test gives: never later than now at the store.
ARRIVAL = "00:00"
#: The answers a test gives, by item type (others: yes / +60 / 95 s / the first option /
#: the middle of the range / some text); info items are not answered.
DEFAULTS = {"yesno": 1, "scale7": 60, "timed": 95, "choice": 0, "number": None,
            "text": "Fine", "photo": None, "info": None}


def default_value(item, values: dict):
    v = values.get(item.code, DEFAULTS[item.item_type])
    if v is None and item.item_type == "number":
        v = (item.config["lo"] + item.config["hi"]) / 2
    return v


def asked(visit: Visit, values: dict) -> set[str]:
    """The codes of the items the visit asks with these values (conditions.py)."""
    from auditapp import conditions, item_types

    specs, answers = [], {}
    for dim in visit.questionnaire.dimensions:
        for item in dim.items:
            specs.append({"code": item.code, "show": item.condition, "dim_show": dim.condition,
                          "fail": item_types.of(item).fail_rule(item, visit.visit_type)})
            v = default_value(item, values)
            answers[item.code] = {"value": None if v == "na" else v, "na": v == "na"}
    return conditions.visible(specs, answers, visit.visit_type, visit.kind)


def make_assignment(chain, store=None, shopper=None, visit_type="drive_thru", kind="mystery",
                    competitor=None, status="assigned") -> Visit:
    visit = Visit(
        kind=kind, store=None if competitor is not None else (store or chain.stores[0]),
        competitor=competitor, evaluator=shopper or chain.shoppers[0],
        questionnaire=chain.qa_q if kind == "qa" else chain.ms_q,
        month=f"{utcnow():%Y-%m}", visit_type=visit_type, status=status,
        due_date=date.today() + timedelta(days=10), access_token=new_access_token(),
        token_expires_at=utcnow() + timedelta(days=30),
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif_make: str | None = None) -> bytes:
    img = Image.new("RGB", size, color)
    out = BytesIO()
    if exif_make:
        exif = Image.Exif()
        exif[0x010F] = exif_make  # Make
        img.save(out, "JPEG", exif=exif)
    else:
        img.save(out, "JPEG")
    return out.getvalue()


def full_payload(visit: Visit, values: dict | None = None, client_id: str | None = "cid-1"):
    values = values or {}
    answers = {}
    for item in visit.questionnaire.items:
        if item.item_type in ("info", "photo"):
            continue
        v = default_value(item, values)
        answers[str(item.id)] = {"value": None, "na": True, "comment": ""} if v == "na" \
            else {"value": v, "na": False, "comment": ""}
    return {
        "client_submission_id": client_id,
        "answers": answers,
        # today (UTC: never after today at a store east of UTC), arrived at midnight: never
        # later than the submission, whatever the time the tests run
        "facts": {"visit_date": utcnow().date().isoformat(), "arrival_time": ARRIVAL,
                  "visit_type_confirmed": True, "order_description": "Burger meal",
                  "receipt_total": "35.5", "overall_comment": "Fine"},
    }


def expected_score(visit: Visit, values: dict) -> float | None:
    """V computed by the scoring engine straight from the values the test entered."""
    answers = []
    shown = asked(visit, values)
    for dim in visit.questionnaire.dimensions:
        for item in dim.items:
            if item.code not in shown or item.item_type in scoring.UNSCORED_TYPES:
                continue
            v = default_value(item, values)
            t = l_ = None
            if item.item_type == "timed":
                t, l_ = item.target_limit(visit.visit_type)
            config = item.config or {}
            answers.append(scoring.ItemAnswer(
                dimension=dim.code, item_type=item.item_type,
                value=None if v == "na" else float(v), na=v == "na", weight=item.weight,
                critical=item.critical, target=t, limit=l_, lo=config.get("lo"),
                hi=config.get("hi"),
                points=tuple(o["points"] for o in config.get("options", [])) or None))
    return scoring.score_visit(answers, visit.questionnaire.dimension_weights).score
