"""HQ: the customer complaint hotline log. Complaints feed the HL component of the BDI
(SCORING.md §6): each one deducts by severity, half when resolved within 48 hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import DateTimeLocalField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import analytics
from ..extensions import db
from ..i18n import SEVERITY_LABELS
from ..inputs import StorableText
from ..models import HQ_ADMIN, Complaint, Store, utcnow
from ..models.complaint import CATEGORIES, CHANNELS, HANDLING_STEPS, SEVERITIES
from ..security import roles_required
from ..settings import get_setting
from ..visits import log_change
from . import bp

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "email": _l("E-mail"),
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
    "apologise": _l("Apologise"),
    "gather_facts": _l("Gather the facts"),
    "propose_solution": _l("Propose a solution"),
    "follow_up": _l("Follow up"),
    "prevent_recurrence": _l("Prevent recurrence"),
}
STATUS_FILTERS = ("open", "resolved", "overdue")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def overdue_hours() -> float:
    return float(get_setting("complaints").get("overdue_hours", 48))


def to_utc(local: datetime, tz: str) -> datetime:
    """A naive local time in the zone ``tz`` as naive UTC."""
    aware = local.replace(tzinfo=ZoneInfo(tz))
    return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def to_local(utc: datetime, tz: str) -> datetime:
    return utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return complaint.resolved_at is None and (
        complaint.received_at < now - timedelta(hours=overdue_hours())
    )


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
            and to_utc(field.data, store.timezone) > utcnow() + timedelta(minutes=5)
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
    stores = db.session.scalars(
        select(Store).where(Store.active.is_(True)).order_by(Store.code)
    ).all()
    return [(s.id, f"{s.code} · {s.name}") for s in stores]


def _complaint_or_404(complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        abort(404)
    return complaint


def _state(c: Complaint) -> dict:
    return {
        "severity": c.severity,
        "steps_done": dict(c.steps_done or {}),
        "handling_notes": c.handling_notes,
        "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
    }


@bp.route("/complaints")
@roles_required(HQ_ADMIN)
def complaints():
    now = utcnow()
    limit = now - timedelta(hours=overdue_hours())
    query = (
        select(Complaint)
        .options(selectinload(Complaint.store))
        .order_by(Complaint.received_at.desc(), Complaint.id.desc())
    )
    store_id = request.args.get("store", type=int)
    if store_id:
        query = query.where(Complaint.store_id == store_id)
    month = request.args.get("month", "").strip()
    month_error = None
    if month:
        try:
            period = analytics.Period.month(month)
            query = query.where(
                Complaint.received_at >= period.start_dt, Complaint.received_at < period.end_dt
            )
        except analytics.PeriodError:
            month_error = _("Month must be written YYYY-MM (e.g. 2026-05).")
    status = request.args.get("status", "")
    if status == "open":
        query = query.where(Complaint.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(Complaint.resolved_at.is_not(None))
    elif status == "overdue":
        query = query.where(Complaint.resolved_at.is_(None), Complaint.received_at < limit)
    else:
        status = ""
    rows = db.session.scalars(query.limit(500)).all()
    return render_template(
        "hq/complaints.html",
        rows=rows,
        stores=_store_choices(),
        store_id=store_id,
        month=month,
        month_error=month_error,
        status=status,
        status_filters=STATUS_FILTERS,
        overdue_limit=limit,
        to_local=to_local,
        labels={"channel": CHANNEL_LABELS, "category": CATEGORY_LABELS},
        steps=HANDLING_STEPS,
    )


@bp.route("/complaints/new", methods=["GET", "POST"])
@roles_required(HQ_ADMIN)
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
            complaint = Complaint(
                store_id=store.id,
                received_at=to_utc(form.received_at.data, store.timezone),
                channel=form.channel.data,
                severity=form.severity.data,
                category=form.category.data,
                description=form.description.data.strip(),
                steps_done={},
                created_by_id=current_user.id,
            )
            db.session.add(complaint)
            db.session.flush()
            log_change("complaint", complaint.id, "create", current_user.id, None,
                       {**_state(complaint), "store_id": store.id,
                        "received_at": complaint.received_at.isoformat()})
            db.session.commit()
            flash(_("Complaint recorded."), "success")
            return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)
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
@roles_required(HQ_ADMIN)
def complaint_detail(complaint_id: int):
    return _render_detail(_complaint_or_404(complaint_id))


@bp.post("/complaints/<int:complaint_id>/handling")
@roles_required(HQ_ADMIN)
def complaint_handling(complaint_id: int):
    """Tick handling steps (each remembers when it was first ticked) and save notes."""
    complaint = _complaint_or_404(complaint_id)
    form = HandlingForm()
    if not form.validate_on_submit():
        return _render_detail(complaint, handling=form, status=400)
    before = _state(complaint)
    ticked = set(request.form.getlist("steps")) & set(HANDLING_STEPS)
    old = dict(complaint.steps_done or {})
    now = utcnow().isoformat(timespec="seconds")
    complaint.steps_done = {s: old.get(s, now) for s in HANDLING_STEPS if s in ticked}
    complaint.handling_notes = (form.handling_notes.data or "").strip()
    log_change("complaint", complaint.id, "handling", current_user.id, before, _state(complaint))
    db.session.commit()
    flash(_("Handling saved."), "success")
    return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)


@bp.post("/complaints/<int:complaint_id>/resolve")
@roles_required(HQ_ADMIN)
def complaint_resolve(complaint_id: int):
    complaint = _complaint_or_404(complaint_id)
    form = ResolveForm()
    if complaint.resolved_at is not None:
        flash(_("This complaint is already resolved."), "error")
        return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)
    if not form.validate_on_submit():
        return _render_detail(complaint, resolve=form, status=400)
    now = utcnow()
    resolved = to_utc(form.resolved_at.data, complaint.store.timezone) \
        if form.resolved_at.data else now
    if resolved < complaint.received_at:
        form.resolved_at.errors = [_("A complaint cannot be resolved before it was received.")]
        return _render_detail(complaint, resolve=form, status=400)
    if resolved > now + timedelta(minutes=5):
        form.resolved_at.errors = [_("The time of resolution cannot be in the future.")]
        return _render_detail(complaint, resolve=form, status=400)
    before = _state(complaint)
    complaint.resolved_at = resolved
    log_change("complaint", complaint.id, "resolve", current_user.id, before, _state(complaint))
    db.session.commit()
    flash(_("Complaint resolved."), "success")
    return redirect(url_for("hq.complaint_detail", complaint_id=complaint.id), code=303)
