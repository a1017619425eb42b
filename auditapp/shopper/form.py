"""The audit form page, shared by mystery shoppers (by login or link token), competitor
visits and QA auditors. Works without JavaScript (a plain POST); shopper.js adds steps,
the timer, autosave, photo upload and the offline queue on top."""

from __future__ import annotations

import secrets

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import conditions, integrity, photos, submission
from ..extensions import db
from ..models import Photo, Visit
from ..models.visit import RETURNED
from ..visit_states import TransitionError
from ..visits import load_form
from .access import acting_user_id


def photo_url(photo: Photo, token: str | None, thumb: bool = False) -> str:
    if token:
        return url_for("shopper.token_photo", token=token, photo_id=photo.id,
                       thumb=1 if thumb else None)
    return url_for("main.photo", photo_id=photo.id, thumb=1 if thumb else None)


def render_form(visit: Visit, *, post_url: str, token: str | None = None,
                state: dict | None = None, errors: dict | None = None, status: int = 200):
    editable = submission.is_editable(visit)
    state = state or submission.form_state(visit)
    template = "shopper/form.html" if editable else "shopper/done.html"
    form = load_form(visit.questionnaire_id)
    # asked for this visit's type and kind; of those, shown with the answers as they are
    asked = {item.id for item in form.items
             if conditions.applies(item.dim_condition, visit.visit_type, visit.kind)
             and conditions.applies(item.condition, visit.visit_type, visit.kind)}
    asked_dims = {d.id for d in visit.questionnaire.dimensions
                  if conditions.applies(d.condition, visit.visit_type, visit.kind)}
    item_photos: dict[int | None, list[Photo]] = {}
    for p in visit.photos:
        item_photos.setdefault(p.item_id, []).append(p)
    return render_template(
        template,
        visit=visit,
        asked=asked,
        asked_dims=asked_dims,
        shown=form.visible_ids(visit.visit_type, visit.kind, state.get("answers", {})),
        condition_specs={"visit_type": visit.visit_type, "kind": visit.kind,
                         "items": [item.condition_spec(visit.visit_type)
                                   for item in form.items if item.id in asked]},
        item_photos=item_photos,
        fact_fields=submission.fact_fields(visit.kind),
        state=state,
        errors=errors or {},
        editable=editable,
        token=token,
        post_url=post_url,
        api_base=url_for("api.shopper_visit", visit_id=visit.id),
        photo_url=lambda p, thumb=False: photo_url(p, token, thumb),
        sent=request.args.get("sent") == "1",
        max_photo_mb=int(current_app.config["MAX_PHOTO_BYTES"] / 1048576),
        returned=visit.status == RETURNED,
        client_id=secrets.token_hex(16),
    ), status


def handle_form(visit: Visit, *, post_url: str, token: str | None = None):
    """GET shows the form (or the read-only copy); POST checks in, saves a draft or submits
    (one commit; a submission that is refused is rolled back)."""
    if request.method == "GET":
        # (not when the service worker fetches the form ahead: that is no opening)
        if submission.is_editable(visit) and not request.headers.get("X-Precache") \
                and integrity.record_opened(visit):
            db.session.commit()  # paradata: when the form was first opened
        return render_form(visit, post_url=post_url, token=token)
    try:
        return _handle_post(visit, post_url=post_url, token=token)
    except TransitionError as refusal:  # e.g. sent from another tab meanwhile
        db.session.rollback()
        flash(str(refusal), "info")
        return redirect(post_url)


def _handle_post(visit: Visit, *, post_url: str, token: str | None):
    if not submission.is_editable(visit):
        if request.form.get("action") == "submit":
            # a double tap or a resent form: the same client id gives the first result
            again = submission.submit(visit, submission.payload_from_form(request.form),
                                      acting_user_id(visit))
            _end(again)
            if again.ok:
                return redirect(post_url + ("&" if "?" in post_url else "?") + "sent=1")
        flash(_("This visit was already submitted and can no longer be changed."), "info")
        return redirect(post_url)
    action = request.form.get("action", "draft")
    user_id = acting_user_id(visit)
    if action == "checkin":
        submission.check_in(visit, user_id, request.form.get("latitude"),
                            request.form.get("longitude"), request.form.get("accuracy"))
        db.session.commit()
        flash(_("Visit started. Your answers are saved as you go."), "success")
        return redirect(post_url)
    payload = submission.payload_from_form(request.form)
    errors = submission.check_draft(visit, payload)
    if errors:  # nothing is stored (the previous draft is kept); the form shows what was typed
        return render_form(visit, post_url=post_url, token=token, state=payload, errors=errors,
                           status=400)
    category = request.form.get("photo_category", "other")
    # the visit's photos, and each item's (``p_<item id>``)
    uploads = [(u, None) for u in request.files.getlist("photos") if u and u.filename]
    for name in request.files:
        if name.startswith("p_") and name[2:].isdigit():
            uploads += [(u, int(name[2:])) for u in request.files.getlist(name)
                        if u and u.filename]
    try:
        photos.check_request_photo_count(len(uploads))
    except photos.PhotoError as exc:
        errors["photo"] = str(exc)
        uploads = []
    for upload, item_id in uploads:
        key = "photo" if item_id is None else f"item-{item_id}"
        try:
            photos.add_photo(visit, upload.read(), category, item_id=item_id)
        except photos.PhotoError as exc:
            errors[key] = str(exc)
    if errors:
        submission.save_draft(visit, payload, user_id)
        db.session.commit()  # photos that were fine are kept
        return render_form(visit, post_url=post_url, token=token, state=payload, errors=errors,
                           status=400)
    if action == "submit":
        result = submission.submit(visit, payload, user_id)
        _end(result)
        if result.ok:
            return redirect(post_url + ("&" if "?" in post_url else "?") + "sent=1")
        if not result.errors:
            flash(result.message, "error")
            return redirect(post_url)
        flash(result.message, "error")
        return render_form(result.visit, post_url=post_url, token=token, state=payload,
                           errors=result.errors, status=400)
    submission.save_draft(visit, payload, user_id)
    db.session.commit()
    if action == "update":  # no JavaScript: show the questions the answers now ask
        return redirect(post_url + "#step-facts")
    flash(_("Draft saved."), "success")
    return redirect(post_url)


def _end(result: submission.SubmitResult) -> None:
    """End a submission's transaction: commit what it stored, or roll back a refusal."""
    if result.ok:
        db.session.commit()
    else:
        db.session.rollback()
