"""HQ: extra-visit proposals on the scheduling page (the rules: ``auditapp.proposals``).

The page's partial ``hq/scheduling/_proposals.html`` asks ``extra_visit_proposals(month)``
for the list; HQ accepts some or all of them, or sets the month's budget.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import proposals
from ..analytics import Period, PeriodError
from ..extensions import db
from ..months import MonthClosedError
from ..permissions import Cap, requires
from ..scheduling import SchedulingError
from ..settings import SettingsError
from . import bp


@bp.app_template_global("extra_visit_proposals")
def extra_visit_proposals(month: str) -> proposals.Proposals | None:
    """The month's proposals for the scheduling page (None for a month it cannot read)."""
    try:
        Period.month(month or "")
    except PeriodError:
        return None
    return proposals.propose(month)


def _month() -> str | None:
    month = request.form.get("month", "")
    try:
        Period.month(month)
    except PeriodError as error:
        flash(str(error), "error")
        return None
    return month


def _back(month: str | None):
    target = url_for("hq.scheduling", month=month) if month else url_for("hq.scheduling")
    return redirect(target + "#proposals", code=303)


class _PostForm(FlaskForm):
    """Only the CSRF token: the fields are read from the request."""


def _csrf_ok() -> bool:
    if not _PostForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return False
    return True


@bp.post("/scheduling/proposals/accept")
@requires(Cap.SCHEDULE_VISITS)
def proposals_accept():
    month = _month()
    if month is None or not _csrf_ok():
        return _back(month)
    try:
        ids = [int(x) for x in request.form.getlist("store_id")]
    except ValueError:
        flash(_("Choose the stores from the list."), "error")
        return _back(month)
    if request.form.get("all"):
        ids = []  # every proposal within the budget
    elif not ids:
        flash(_("Tick at least one store, or accept all."), "error")
        return _back(month)
    try:
        created = proposals.accept(month, ids, current_user.id)
        db.session.commit()
    except (MonthClosedError, SchedulingError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(month)
    flash(ngettext("%(num)d extra visit scheduled for %(m)s.",
                   "%(num)d extra visits scheduled for %(m)s.", len(created), m=month),
          "success")
    return _back(month)


@bp.post("/scheduling/proposals/budget")
@requires(Cap.SCHEDULE_VISITS)
def proposals_budget():
    month = _month()
    if month is None or not _csrf_ok():
        return _back(month)
    try:
        value = int(request.form.get("budget", ""))
    except ValueError:
        flash(_("Write the budget as a whole number of visits (0 or more)."), "error")
        return _back(month)
    try:
        proposals.save_budget(month, value, current_user.id)
        db.session.commit()
    except (SchedulingError, SettingsError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(month)
    flash(_("Budget of extra visits saved: %(n)s, in force from %(m)s.", n=value, m=month),
          "success")
    return _back(month)
