"""HQ: the customer complaint hotline log. Complaints feed the HL component of the BDI
(SCORING.md §6): each one deducts by severity, half when resolved within 48 hours."""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import analytics, params
from .. import complaints as complaints_service
from ..complaints import is_overdue, to_local, to_utc
from ..extensions import db
from ..i18n import SEVERITY_LABELS
from ..inputs import StorableText
from ..models import Complaint, Store, utcnow
from ..models.complaint import CATEGORIES, CHANNELS, HANDLING_STEPS, SEVERITIES
from ..permissions import Cap, requires
from ..stores import active_stores
from . import bp

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "email": _l("Email"),
    "app": _l("App"),
    "social": _l("Social media"),
    "in_store": _l("In store"),
    "other": _l("Other"),
}
CATEGORY_LABELS = {
    "speed": _l("Speed of service"),
    "courtesy": _l("Courtesy"),
    "accuracy": _l("Order accuracy"),
    "quality": _l("Product quality"),
    "cleanliness": _l("Cleanliness and atmosphere"),
    "other": _l("Other"),
}
STEP_LABELS = {
    "thank": _l("Thank the customer"),
    "listen": _l("Listen"),
    "apologise": _l("Apologize"),
    "gather_facts": _l("Gather the facts"),
    "propose_solution": _l("Propose a solution"),
    "follow_up": _l("Follow up"),
    "prevent_recurrence": _l("Prevent recurrence"),
}
STATUS_FILTERS = ("open", "resolved", "overdue")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _choices(codes: tuple[str, ...], labels: dict) -> list[SelectChoice]:
    return [SelectChoice(code, labels[code]) for code in codes]


class ComplaintForm(FlaskForm):
    store_id = SelectField(_l("Store"), coerce=int, validators=[DataRequired(_l("Pick a store."))])
    received_at = DateTimeLocalField(
        _l("Received at (store's local time)"),
        format=LOCAL_FORMAT,
        validators=[DataRequired(_l("Enter the date and time, e.g. 2026-05-10 14:30."))],
    )
    channel = SelectField(_l("Channel"), choices=_choices(CHANNELS, CHANNEL_LABELS))
    severity = SelectField(_l("Severity"), choices=_choices(SEVERITIES, SEVERITY_LABELS))
    category = SelectField(_l("Category"), choices=_choices(CATEGORIES, CATEGORY_LABELS))
    description = TextAreaField(
        _l("What happened"),
        validators=[DataRequired(_l("Describe the complaint.")), Length(max=5000),
                    StorableText()],
    )

    def validate_received_at(self, field) -> None:
        store = db.session.get(Store, self.store_id.data) if self.store_id.data else None
        if (
            field.data
            and store is not None
            and complaints_service.in_the_future(to_utc(field.data, store.timezone))
        ):
            raise ValidationError(_l("The time of receipt cannot be in the future."))


class HandlingForm(FlaskForm):
    handling_notes = TextAreaField(_l("Handling notes"),
                                   validators=[Length(max=10000), StorableText()])


class ResolveForm(FlaskForm):
    resolved_at = DateTimeLocalField(
        _l("Resolved at (store's local time; empty for now)"),
        format=LOCAL_FORMAT,
        validators=[Optional()],
    )


def _store_choices() -> list[tuple[int, str]]:
    return [(s.id, f"{s.code} · {s.name}") for s in active_stores()]




@bp.route("/complaints")
@requires(Cap.MANAGE_COMPLAINTS)
def complaints():
    now = utcnow()
    store_id = params.ident("store")
    month = request.args.get("month", "").strip()
    month_error = None
    period = None
    if month:
        try:
            period = analytics.Period.month(month)
        except analytics.PeriodError as error:
            month_error = str(error)
    status = request.args.get("status", "")
    if status not in STATUS_FILTERS:
        status = ""
    rows = complaints_service.search(store_id=store_id, period=period, status=status,
                                     now=now)
    return render_template(
        "hq/complaints.html",
        rows=rows,
        stores=_store_choices(),
        store_id=store_id,
        month=month,
        month_error=month_error,
        status=status,
        status_filters=STATUS_FILTERS,
        is_overdue=is_overdue,
        now=now,
        to_local=to_local,
        labels={"channel": CHANNEL_LABELS, "category": CATEGORY_LABELS},
        steps=HANDLING_STEPS,
    )


@bp.route("/complaints/new", methods=["GET", "POST"])
@requires(Cap.MANAGE_COMPLAINTS)
def complaint_new():
    form = ComplaintForm()
    form.store_id.choices = [
        SelectChoice(0, _("Choose a store…")),
        *(SelectChoice(i, label) for i, label in _store_choices()),
    ]
    if form.validate_on_submit():
        store = db.session.get(Store, form.store_id.data)
        if store is None:
            form.store_id.errors = [*form.store_id.errors, _("Pick a store.")]
        else:
            try:
                complaint = complaints_service.record(
                    store, to_utc(form.received_at.data, store.timezone),
                    channel=form.channel.data, severity=form.severity.data,
                    category=form.category.data, description=form.description.data,
                    user_id=current_user.id)
            except complaints_service.ComplaintError as error:
                form.received_at.errors = [*form.received_at.errors, str(error)]
            else:
                db.session.commit()
                flash(_("Complaint recorded."), "success")
                return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id),
                                code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("hq/complaints_form.html", form=form), status


def _render_detail(complaint: Complaint, handling: HandlingForm | None = None,
                   resolve: ResolveForm | None = None, status: int = 200):
    tz = complaint.store.timezone
    return (
        render_template(
            "hq/complaints_detail.html",
            c=complaint,
            tz=tz,
            steps=HANDLING_STEPS,
            step_labels=STEP_LABELS,
            done=complaint.steps_done or {},
            overdue=is_overdue(complaint),
            handling=handling or HandlingForm(formdata=None, obj=complaint),
            resolve=resolve or ResolveForm(formdata=None),
            labels={"channel": CHANNEL_LABELS, "category": CATEGORY_LABELS},
            parse_iso=datetime.fromisoformat,
        ),
        status,
    )


@bp.route("/complaints/<int:complaint_id>")
@requires(Cap.MANAGE_COMPLAINTS)
def complaint_detail(complaint_id: int):
    return _render_detail(db.get_or_404(Complaint, complaint_id))


@bp.post("/complaints/<int:complaint_id>/handling")
@requires(Cap.MANAGE_COMPLAINTS)
def complaint_handling(complaint_id: int):
    """Tick handling steps (each remembers when it was first ticked) and save notes."""
    complaint = db.get_or_404(Complaint, complaint_id)
    form = HandlingForm()
    if not form.validate_on_submit():
        return _render_detail(complaint, handling=form, status=400)
    complaints_service.save_handling(complaint, set(request.form.getlist("steps")),
                                     form.handling_notes.data or "", current_user.id)
    db.session.commit()
    flash(_("Handling saved."), "success")
    return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)


@bp.post("/complaints/<int:complaint_id>/resolve")
@requires(Cap.MANAGE_COMPLAINTS)
def complaint_resolve(complaint_id: int):
    complaint = db.get_or_404(Complaint, complaint_id)
    form = ResolveForm()
    if complaint.resolved_at is not None:
        flash(_("This complaint is already resolved."), "error")
        return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)
    if not form.validate_on_submit():
        return _render_detail(complaint, resolve=form, status=400)
    resolved = to_utc(form.resolved_at.data, complaint.store.timezone) \
        if form.resolved_at.data else None
    try:
        complaints_service.resolve(complaint, resolved, current_user.id)
    except complaints_service.ComplaintError as error:
        form.resolved_at.errors = [str(error)]
        return _render_detail(complaint, resolve=form, status=400)
    db.session.commit()
    flash(_("Complaint resolved."), "success")
    return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)
