"""HQ: open and closed months (SCORING.md §11). The page lists the recent months with
what is still pending; closing one stores its figures (``months.close_month``)."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from .. import month_end_jobs
from .. import months as month_service
from ..analytics import Period, PeriodError
from ..extensions import db
from ..models import MonthClosure
from ..permissions import Cap, requires
from . import bp


class CloseMonthForm(FlaskForm):
    """Only the CSRF token; the month is in the URL."""


def _render(status: int = 200):
    current = Period.month(f"{date.today():%Y-%m}")
    rows = []
    for period in reversed(current.months_back(12)):
        rows.append((period, month_service.pending(period),
                     db.session.get(MonthClosure, period.label)))
    closed = month_service.closures()
    return render_template("hq/months.html", rows=rows, closed=closed,
                           form=CloseMonthForm()), status


@bp.route("/months")
@requires(Cap.CLOSE_MONTHS)
def months():
    return _render()


@bp.post("/months/close")
@requires(Cap.CLOSE_MONTHS)
def close_month():
    form = CloseMonthForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return _render(400)
    try:
        period = Period.month(request.form.get("month", ""))
    except PeriodError as error:
        flash(str(error), "error")
        return _render(400)
    try:
        month_service.close_month(period, current_user.id)
        db.session.commit()
    except month_service.MonthClosedError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render(409)
    except IntegrityError:  # closed at the same moment by another request
        db.session.rollback()
        flash(_("%(month)s is already closed. A closed month is never reopened.",
                month=period.label), "error")
        return _render(409)
    flash(_("%(month)s is closed: its figures are stored and final.", month=period.label),
          "success")
    month_end_jobs.start_after_close(period.label, current_user.id)  # its reports (#22)
    return redirect(url_for("hq.months"), code=303)
