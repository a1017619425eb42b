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
#: The answers a test gives, by item code (others: yes / +60 / 95 s).
DEFAULTS = {"yesno": 1, "scale7": 60, "timed": 95}


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
        v = values.get(item.code, DEFAULTS[item.item_type])
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
    for dim in visit.questionnaire.dimensions:
        for item in dim.items:
            v = values.get(item.code, DEFAULTS[item.item_type])
            t = l_ = None
            if item.item_type == "timed":
                t, l_ = item.target_limit(visit.visit_type)
            answers.append(scoring.ItemAnswer(
                dimension=dim.code, item_type=item.item_type,
                value=None if v == "na" else float(v), na=v == "na", weight=item.weight,
                critical=item.critical, target=t, limit=l_))
    return scoring.score_visit(answers, visit.questionnaire.dimension_weights).score
