"""HQ: deadlines on the scheduling page — overdue / due-soon counts and markers, and the
bulk extend / reassign / cancel of assignments (rules in ``auditapp.deadlines``).

The scheduling page shows this through ``templates/hq/scheduling/_deadlines.html``, which
asks ``bulk_deadlines(month)`` for its data (so the page's own view stays as it is).
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, RadioField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from .. import deadlines
from ..extensions import db
from ..models import SHOPPER, User, Visit
from ..permissions import Cap, requires
from . import bp

EXTEND, REASSIGN, CANCEL = "extend", "reassign", "cancel"


class BulkForm(FlaskForm):
    action = RadioField(_l("Action"), choices=[
        SelectChoice(EXTEND, _l("Extend to a new due date")),
        SelectChoice(REASSIGN, _l("Reassign to another shopper")),
        SelectChoice(CANCEL, _l("Cancel the assignments")),
    ])
    due_date = DateField(_l("New due date"), validators=[Optional()])
    shopper_id = SelectField(_l("New shopper"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Apply to the selected assignments"))


def _active_shoppers() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == SHOPPER, User.active.is_(True))
        .order_by(User.username)))


def _form() -> BulkForm:
    form = BulkForm()
    form.shopper_id.choices = [SelectChoice(0, "–")] + [
        SelectChoice(u.id, u.pseudonym) for u in _active_shoppers()]
    return form


@bp.app_template_global()
def bulk_deadlines(month: str) -> dict:
    """What the scheduling page's deadline section shows for ``month``."""
    today = date.today()
    return {"counts": deadlines.counts(today),
            "visits": deadlines.open_assignments(month, today), "today": today,
            "form": _form()}


@bp.app_template_global()
def deadline_of(visit: Visit) -> str | None:
    """``overdue``, ``due_soon`` or None for ``visit`` (markers on the pages)."""
    return deadlines.visit_deadline(visit)


def _ids() -> list[int]:
    out = []
    for raw in request.form.getlist("visit_id"):
        if raw.isdigit() and len(raw) < 12:
            out.append(int(raw))
    return out


def _name(row: Visit | int) -> str:
    if isinstance(row, Visit):
        return f"{row.store.code} · {row.store.name} ({row.month})"
    return f"#{row}"


@bp.post("/scheduling/bulk")
@requires(Cap.SCHEDULE_VISITS)
def scheduling_bulk():
    month = request.form.get("month", "")
    back = redirect(url_for("hq.scheduling", month=month or None, _anchor="deadlines"),
                    code=303)
    form = _form()
    ids = _ids()
    if not form.validate_on_submit():
        flash(_("The form has expired or is incomplete; please try again."), "error")
        return back
    if not ids:
        flash(_("Select at least one assignment."), "error")
        return back
    try:
        if form.action.data == EXTEND:
            if form.due_date.data is None:
                flash(_("Choose the new due date."), "error")
                return back
            result = deadlines.bulk_extend(ids, form.due_date.data, current_user.id)
        elif form.action.data == REASSIGN:
            shopper = db.session.get(User, form.shopper_id.data or 0)
            if shopper is None:
                flash(_("Choose the new shopper."), "error")
                return back
            result = deadlines.bulk_reassign(ids, shopper, current_user.id)
        else:
            result = deadlines.bulk_cancel(ids, current_user.id)
    except deadlines.BulkError as error:
        db.session.rollback()
        flash(str(error), "error")
        return back
    db.session.commit()
    n = len(result.done)
    if form.action.data == EXTEND:
        done = ngettext("%(num)d assignment is now due by %(date)s.",
                        "%(num)d assignments are now due by %(date)s.", n,
                        date=form.due_date.data.isoformat())
    elif form.action.data == REASSIGN:
        shopper = db.session.get(User, form.shopper_id.data)
        done = ngettext("%(num)d assignment reassigned to %(user)s; the old link no "
                        "longer works.",
                        "%(num)d assignments reassigned to %(user)s; the old links no "
                        "longer work.", n, user=shopper.pseudonym)
    else:
        done = ngettext("%(num)d assignment cancelled; its link no longer works.",
                        "%(num)d assignments cancelled; their links no longer work.", n)
    if n:
        flash(done, "success")
    for row, why in result.refused:
        flash(_("Not changed: %(visit)s — %(why)s", visit=_name(row), why=why), "error")
    return back
