"""API: the shopper's audit form (fetch the assignment, check in, save a draft, upload a
photo, submit). Documented in docs/API.md.

Auth: a logged-in session (the visit's evaluator; unsafe methods then need the
``X-CSRFToken`` header), or the assignment's link token as ``Authorization: Bearer <token>``
(or ``?token=``), which opens that one visit only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from .. import integrity, item_types, outbox, photos, scenarios, submission, visit_states
from ..extensions import csrf, db
from ..i18n import csm_label, is_chinese
from ..inputs import JsonBodyError, json_body
from ..models import Visit
from ..scoring import CHOICE, SCALE7, SCALE7_LEVELS
from ..shopper.access import acting_user_id, is_evaluator, request_token, visit_by_token
from ..shopper.form import photo_url
from ..visit_states import TransitionError
from . import bp
from .errors import OPENAPI_ERROR_SCHEMA, error_response


def json_object(what: str) -> tuple[dict | None, Any]:
    """The request's JSON object (checked by ``inputs.json_body``), or None and the error
    response: ``what`` says what the body should be."""
    try:
        data = json_body()
    except JsonBodyError as exc:
        return None, error_response(exc.status, exc.message)
    if not isinstance(data, dict):
        return None, error_response(400, what)
    return data, None


def with_visit(view: Callable | None = None, *, lock: bool = False) -> Callable:
    """Resolve ``visit_id`` for the session's evaluator or the bearer token; 404 otherwise.
    ``@with_visit(lock=True)``: a token's visit is read with its row locked
    (``submission.lock_visit``), in the same query."""
    if view is None:
        return lambda v: with_visit(v, lock=lock)

    @wraps(view)
    def wrapped(visit_id: int, **kwargs: Any):
        token = request_token()
        if token:  # one query: the token's visit must be this one
            visit = visit_by_token(token, lock=lock)
            if visit is None or visit.id != visit_id:
                if lock:
                    db.session.rollback()
                return error_response(404, _("No such visit."))
            return view(visit, token, **kwargs)
        visit = db.session.get(Visit, visit_id)
        if visit is None:
            return error_response(404, _("No such visit."))
        if is_evaluator(visit):
            if request.method not in ("GET", "HEAD", "OPTIONS") and \
                    current_app.config.get("WTF_CSRF_ENABLED", True):
                try:
                    csrf.protect()
                except CSRFError:  # (the outbox keeps what it sends and retries)
                    return error_response(400, _("The form expired. Please reload the page."),
                                          code="csrf_expired")
        else:
            if not current_user.is_authenticated:
                return error_response(401, _("Log in or use the link you were sent."))
            return error_response(404, _("No such visit."))
        return view(visit, token, **kwargs)

    return csrf.exempt(wrapped)


def visit_json(visit: Visit, token: str | None, full: bool = True) -> dict:
    place = visit.store if visit.store is not None else visit.competitor
    out: dict[str, Any] = {
        "id": visit.id,
        "kind": visit.kind,
        "place": visit.place_name,
        "address": getattr(place, "address", "") if place is not None else "",
        "month": visit.month,
        "visit_type": visit.visit_type,
        "due_date": visit.due_date.isoformat() if visit.due_date else None,
        "status": visit.status,
        "editable": submission.is_editable(visit),
        "return_reason": visit.return_reason or "",
        "started_at": visit.started_at.isoformat(timespec="seconds") if visit.started_at
        else None,
        "submitted_at": submission.submitted_at_iso(visit),
    }
    if not full:
        return out
    zh = is_chinese()
    out["questionnaire"] = {
        "id": visit.questionnaire.id,
        "code": visit.questionnaire.code,
        "version": visit.questionnaire.version,
        "dimensions": [
            {
                "code": d.code,
                "name": (d.name_zh if zh and d.name_zh else d.name),
                "items": [
                    {
                        "id": i.id,
                        "code": i.code,
                        "type": i.item_type,
                        "text": i.text_zh if zh and i.text_zh else i.text,
                        "guidance": i.guidance_zh if zh and i.guidance_zh else i.guidance,
                        "allow_na": i.allow_na,
                        "critical": i.critical,
                        "levels": [{"value": lv, "label": csm_label(lv)} for lv in SCALE7_LEVELS]
                        if i.item_type == SCALE7 else None,
                        # the type's options (a choice), range (a number), its
                        # condition (auditapp/conditions.py) and follow-ups on a failure
                        "options": [{"value": int(v), "label": text} for v, text in
                                    item_types.of(i).dispute_choices(i)]
                        if i.item_type == CHOICE else None,
                        "config": i.config,
                        "scored": item_types.of(i).scored,
                        "condition": i.condition, "dimension_condition": d.condition,
                        "fail": item_types.of(i).fail_rule(i, visit.visit_type),
                        "require_comment": i.require_comment,
                        "require_photo": i.require_photo,
                    }
                    for i in d.items
                ],
            }
            for d in visit.questionnaire.dimensions
        ],
    }
    out["state"] = submission.form_state(visit)
    out["scenario"] = scenarios.shopper_json(visit, zh)  # issue #24: the shopper's only
    out["photos"] = [photo_json(p, token) for p in visit.photos]
    return out


def photo_json(photo, token: str | None) -> dict:
    return {"id": photo.id, "category": photo.category, "item_id": photo.item_id,
            "width": photo.width,
            "height": photo.height, "url": photo_url(photo, token),
            "thumb_url": photo_url(photo, token, thumb=True)}


@bp.route("/shopper/assignments")
@csrf.exempt
def shopper_assignments():
    token = request_token()
    if token:
        visit = visit_by_token(token)
        if visit is None:
            return error_response(404, _("This link is not valid any more."))
        visits = [visit]
    elif current_user.is_authenticated:
        visits = list(db.session.scalars(
            select(Visit).where(Visit.evaluator_id == current_user.id)
            .order_by(Visit.month.desc(), Visit.id)
        ))
    else:
        return error_response(401, _("Log in or use the link you were sent."))
    return jsonify({"assignments": [visit_json(v, token, full=False) for v in visits]})


@bp.route("/shopper/visits/<int:visit_id>")
@with_visit
def shopper_visit(visit: Visit, token: str | None):
    if submission.is_editable(visit) and not request.headers.get("X-Precache") \
            and integrity.record_opened(visit):
        db.session.commit()
    return jsonify(visit_json(visit, token))


@bp.route("/shopper/visits/<int:visit_id>/checkin", methods=["POST"])
@with_visit
def shopper_checkin(visit: Visit, token: str | None):
    try:
        data = json_body()
    except JsonBodyError as exc:
        return error_response(exc.status, exc.message)
    data = data if isinstance(data, dict) else {}
    lat = lon = accuracy = None
    if data.get("consent"):
        lat, lon, accuracy = data.get("latitude"), data.get("longitude"), data.get("accuracy")
    try:
        submission.check_in(visit, acting_user_id(visit), lat, lon, accuracy)
    except TransitionError as refusal:
        return error_response(409, str(refusal), code="already_submitted")
    outbox.record_arrival(visit.id, "checkin")
    db.session.commit()
    return jsonify({"status": visit.status,
                    "started_at": visit.started_at.isoformat(timespec="seconds")})


@bp.route("/shopper/visits/<int:visit_id>/draft", methods=["PUT", "POST"])
@with_visit
def shopper_draft(visit: Visit, token: str | None):
    data, refused = json_object(_("Send the draft as a JSON object."))
    if data is None:
        return refused
    errors = submission.check_draft(visit, data)
    if errors:  # the previous draft is kept
        return error_response(400, _("The draft was not saved: some fields need a correction."),
                              fields=errors)
    try:
        saved = submission.save_draft(visit, data, acting_user_id(visit))
    except TransitionError as refusal:  # e.g. a late autosave of a visit already sent
        return error_response(409, str(refusal), code="already_submitted")
    outbox.record_arrival(visit.id, "draft")
    db.session.commit()
    return jsonify({"status": "saved", "saved_at": saved["saved_at"],
                    "visit_status": visit.status})


@bp.route("/shopper/visits/<int:visit_id>/events", methods=["POST"])
@with_visit
def shopper_events(visit: Visit, token: str | None):
    """The JavaScript form's timer starts/stops and time per step, with the phone's time;
    the server stamps when it received each (paradata for HQ)."""
    data, refused = json_object(_("Send the events as a JSON object."))
    if data is None:
        return refused
    if not submission.is_editable(visit):
        return error_response(409, visit_states.refusal(visit, visit_states.SAVE_DRAFT),
                              code="already_submitted")
    try:
        events, count = outbox.take_opened(visit, data.get("events"))
        if events or not count:
            count += integrity.record_client_events(visit, events)
    except integrity.EventError as exc:
        db.session.rollback()
        return error_response(400, str(exc), fields=exc.fields)
    db.session.commit()
    return jsonify({"recorded": count})


@bp.route("/shopper/visits/<int:visit_id>/photos", methods=["POST"])
@with_visit
def shopper_photo(visit: Visit, token: str | None):
    if not submission.is_editable(visit):  # early answer; add_photo checks under the lock
        return error_response(409, visit_states.refusal(visit, visit_states.ADD_PHOTO),
                              code="already_submitted")
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return error_response(400, _("Choose a photo to upload."),
                              fields={"photo": _("Choose a photo to upload.")})
    raw_item = (request.form.get("item_id") or "").strip()
    if raw_item and not raw_item.isdigit():
        return error_response(400, _("There is no such question in this visit."),
                              fields={"item_id": _("There is no such question in this visit.")})
    try:
        photo = photos.add_photo(visit, upload.read(), request.form.get("category", "other"),
                                 item_id=int(raw_item) if raw_item else None)
    except photos.PhotoError as exc:
        db.session.rollback()
        return error_response(400, str(exc), fields={"photo": str(exc)})
    except TransitionError as refusal:
        db.session.rollback()
        return error_response(409, str(refusal), code="already_submitted")
    db.session.flush()
    outbox.record_arrival(visit.id, "photo", photo_id=photo.id)
    db.session.commit()
    return jsonify(photo_json(photo, token)), 201


@bp.route("/shopper/visits/<int:visit_id>/photos/<int:photo_id>", methods=["DELETE"])
@with_visit
def shopper_photo_delete(visit: Visit, token: str | None, photo_id: int):
    """Remove a photo before the report is sent (the form's × on a photo)."""
    try:
        outbox.remove_photo(visit, photo_id)
    except outbox.NoSuchPhoto:
        db.session.rollback()
        return error_response(404, _("This photo is not one of this visit's."), code="no_photo")
    except TransitionError as refusal:
        db.session.rollback()
        return error_response(409, str(refusal), code="already_submitted")
    outbox.record_arrival(visit.id, "photo_delete", photo_id=photo_id)
    db.session.commit()
    return jsonify({"removed": photo_id})


@bp.route("/shopper/visits/<int:visit_id>/submit", methods=["POST"])
@with_visit(lock=True)
def shopper_submit(visit: Visit, token: str | None):
    data, refused = json_object(_("Send the answers as a JSON object."))
    if data is None:
        db.session.rollback()
        return refused
    visit_id = visit.id  # read before the commit expires the visit
    missing = outbox.missing_photos(visit, data.pop("photo_ids", None))
    if missing and submission.is_editable(visit):  # its photos are still on their way
        db.session.rollback()
        return error_response(409, _("The report's photos have not all arrived yet; it will "
                                     "be sent again once they have."), code="photos_missing")
    # A token's visit came with its row locked; a logged-in evaluator's is locked now.
    result = submission.submit(visit, data, acting_user_id(visit), locked=token is not None)
    if not result.ok:
        db.session.rollback()
        status = 422 if result.errors else 409
        return error_response(status, result.message or _("Please correct the answers shown."),
                              fields=result.errors)
    if not result.duplicate:
        outbox.record_arrival(visit_id, "submit")
    db.session.commit()
    return jsonify({
        "status": result.status,
        "visit_id": visit_id,
        "client_submission_id": result.client_submission_id,
        "submitted_at": submission.submitted_at_iso(result),
        "duplicate": result.duplicate,
        "message": _("Thank you. Your report was sent to head office."),
    })


_ERR = {"$ref": "#/components/schemas/Error"}
_AUTH = [{"session": []}, {"linkToken": []}, {"linkTokenQuery": []}]


def _op(summary: str, ok: str, schema: str | None = None, body: str | None = None,
        extra: dict | None = None) -> dict:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": ["shopper"],
        "security": _AUTH,
        "parameters": [{"name": "visit_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {
            "200": {"description": ok, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"} if schema else
                {"type": "object"}}}},
            "400": {"description": "Bad input", "content": {"application/json": {"schema": _ERR}}},
            "401": {"description": "Not logged in and no token",
                    "content": {"application/json": {"schema": _ERR}}},
            "404": {"description": "No such visit for this user or token",
                    "content": {"application/json": {"schema": _ERR}}},
        },
    }
    if body:  # changes: refused once the visit is submitted
        op["responses"]["409"] = {"description": "Already submitted",
                                  "content": {"application/json": {"schema": _ERR}}}
    if body:
        op["responses"]["413"] = {"description": "The body is larger than the limit",
                                  "content": {"application/json": {"schema": _ERR}}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if extra:
        op["responses"].update(extra)
    return op


def _photo_op() -> dict:
    op = _op("Upload a photo (multipart: photo, category, optional item_id: the question "
             "it shows)", "Stored", "Photo", body="Photo")
    op["responses"]["201"] = op["responses"].pop("200")
    op["responses"]["413"] = {"description": "The request is larger than the upload limit",
                              "content": {"application/json": {"schema": _ERR}}}
    return op


#: OpenAPI 3.1 path items this module serves, merged into /api/openapi.json.
OPENAPI_PATHS: dict = {
    "/api/shopper/assignments": {"get": {
        "summary": "The caller's assignments (or the one the bearer token opens)",
        "tags": ["shopper"], "security": _AUTH,
        "responses": {"200": {"description": "Assignments", "content": {"application/json": {
            "schema": {"type": "object", "properties": {"assignments": {
                "type": "array", "items": {"$ref": "#/components/schemas/Assignment"}}}}}}},
            "401": {"description": "Not logged in", "content": {
                "application/json": {"schema": _ERR}}}},
    }},
    "/api/shopper/visits/{visit_id}": {"get": _op(
        "An assignment with its questionnaire, saved state and photos", "The assignment",
        "AssignmentForm")},
    "/api/shopper/visits/{visit_id}/checkin": {"post": _op(
        "Start the visit; with consent, record where the phone is", "Started",
        body="CheckIn")},
    "/api/shopper/visits/{visit_id}/draft": {
        "put": _op("Save the form as a server-side draft (its shape and text limits checked; "
                   "unanswered questions are fine)", "Saved", body="Payload"),
        "post": _op("The same as PUT, for clients that can only send POST (e.g. "
                    "`navigator.sendBeacon` as a page closes)", "Saved", body="Payload"),
    },
    "/api/shopper/visits/{visit_id}/events": {"post": _op(
        "Record timer starts/stops and time per step (the phone's time; the server stamps "
        "its own)", "Recorded", body="Events")},
    "/api/shopper/visits/{visit_id}/photos": {"post": {
        **_photo_op(),
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["photo"], "properties": {
                "photo": {"type": "string", "format": "binary"},
                "category": {"type": "string",
                             "enum": ["receipt", "food", "premises", "other"]},
                "item_id": {"type": "integer",
                            "description": "the question of the visit the photo shows"}}}}}},
    }},
    "/api/shopper/visits/{visit_id}/photos/{photo_id}": {"delete": {
        **_op("Remove a photo before the report is sent", "Removed", body=None,
              extra={"409": {"description": "Already submitted",
                             "content": {"application/json": {"schema": _ERR}}}}),
        "parameters": [{"name": "visit_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}},
                       {"name": "photo_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
    }},
    "/api/shopper/visits/{visit_id}/submit": {"post": _op(
        "Validate, score and send the visit to review (idempotent per client id)",
        "Submitted (or the earlier result of the same client_submission_id)",
        "SubmitResult", body="Payload",
        extra={"409": {"description": "Already submitted",
                       "content": {"application/json": {"schema": _ERR}}},
               "422": {"description": "Validation errors per field",
                       "content": {"application/json": {"schema": _ERR}}}})},
}

#: OpenAPI component schemas this module defines.
OPENAPI_SCHEMAS: dict = {
    "Error": OPENAPI_ERROR_SCHEMA,
    "Assignment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "place": {"type": "string"},
        "address": {"type": "string"}, "month": {"type": "string"},
        "visit_type": {"type": "string"}, "due_date": {"type": ["string", "null"]},
        "status": {"type": "string"}, "editable": {"type": "boolean"},
        "return_reason": {"type": "string"}}},
    "AssignmentForm": {"allOf": [{"$ref": "#/components/schemas/Assignment"}, {
        "type": "object", "properties": {
            "questionnaire": {"type": "object"},
            "state": {"$ref": "#/components/schemas/Payload"},
            "photos": {"type": "array", "items": {"$ref": "#/components/schemas/Photo"}},
            "scenario": {"type": ["object", "null"],
                         "description": "A scenario shop's script and steps (issue #24)"}}}]},
    "Answer": {"type": "object", "properties": {
        "value": {"type": ["number", "string", "null"],
                  "description": "yes/no 1|0, CSM level −90…90, or whole seconds 0–3600 "
                                 "(a form's draft may hold them as text)"},
        "na": {"type": "boolean"}, "comment": {"type": "string", "maxLength": 4000}}},
    "Payload": {"type": "object", "properties": {
        "client_submission_id": {"type": "string", "maxLength": 64},
        "photo_ids": {"type": "array", "items": {"type": "integer"},
                      "description": "submit: the photos the report comes with; 409 "
                                     "photos_missing while any has not arrived"},
        "answers": {"type": "object",
                    "additionalProperties": {"$ref": "#/components/schemas/Answer"}},
        "facts": {"type": "object", "properties": {
            "visit_date": {"anyOf": [{"type": "string", "format": "date"},
                                     {"type": "string", "maxLength": 0}, {"type": "null"}],
                           "description": "YYYY-MM-DD (empty in an unfilled form)"},
            "arrival_time": {"type": ["string", "null"], "example": "12:30"},
            "visit_type_confirmed": {"type": ["boolean", "null"]},
            "order_description": {"type": "string", "maxLength": 4000},
            "receipt_total": {"type": ["number", "string", "null"],
                              "description": "e.g. 35.5 (a form's draft may hold text)"},
            "overall_comment": {"type": "string", "maxLength": 4000}}},
        "scenario": {"type": ["object", "null"], "description": (
            "A scenario shop's complaint handling: steps {\"1\"…\"5\": true|false} "
            "(N/A not allowed), handling (a CSM level −90…90), comment"),
            "properties": {"steps": {"type": "object"},
                           "handling": {"type": ["number", "string", "null"]},
                           "comment": {"type": "string", "maxLength": 4000}}}}},
    "CheckIn": {"type": "object", "properties": {
        "consent": {"type": "boolean"}, "latitude": {"type": "number"},
        "longitude": {"type": "number"},
        "accuracy": {"type": "number", "description": "metres, as the phone reports it"}}},
    "Events": {"type": "object", "required": ["events"], "properties": {"events": {
        "type": "array", "minItems": 1, "maxItems": 100, "items": {
            "type": "object", "required": ["kind", "at"], "properties": {
                "kind": {"type": "string",
                         "enum": ["timer_start", "timer_stop", "step", "opened"],
                         "description": "opened: the form was opened from the phone's "
                                        "copy (kept if the server saw no opening)"},
                "at": {"type": "string", "format": "date-time",
                       "description": "the phone's time"},
                "item_id": {"type": "integer", "description": "timer events: the timed "
                                                             "question"},
                "seconds": {"type": "number", "minimum": 0, "maximum": 86400,
                            "description": "timer_stop: the seconds shown; step: seconds "
                                           "spent on the step"},
                "step": {"type": "integer", "minimum": 0, "maximum": 100}}}}}},
    "Photo": {"type": "object", "properties": {
        "id": {"type": "integer"}, "category": {"type": "string"},
        "item_id": {"type": ["integer", "null"]},
        "url": {"type": "string"}, "thumb_url": {"type": "string"}}},
    "SubmitResult": {"type": "object", "properties": {
        "status": {"type": "string"}, "visit_id": {"type": "integer"},
        "client_submission_id": {"type": ["string", "null"]},
        "submitted_at": {"type": "string"}, "duplicate": {"type": "boolean"},
        "message": {"type": "string"}}},
}
