"""HQ: the month-end run of a month (issue #22) — its progress (done / failed /
remaining), re-running failed parts, and the downloads: the brand summary, the region
summaries and every store's report as one ZIP."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import month_end, month_end_jobs, params, storage
from ..analytics import Period, PeriodError
from ..extensions import db
from ..models import MonthEndPart, MonthEndRun
from ..models.month_end import KIND_BRAND, KIND_BRAND_PIECE, PART_DONE
from ..months import is_closed
from ..permissions import Cap, requires
from . import bp


class MonthEndForm(FlaskForm):
    """Only the CSRF token."""


@bp.route("/month-end")
@requires(Cap.CHAIN_REPORTS)
def month_end_page():
    period, month_value, month_error = params.month_for_page()
    run = month_end.get_run(period.label)
    if run is not None:
        month_end_jobs.recover_lost(run)  # shown as failed, to be re-run
    state = month_end.progress(run) if run else None
    return render_template(
        "hq/month_end.html", period=period, month_value=month_value,
        month_error=month_error, run=run, state=state, closed=is_closed(period),
        failed=month_end.failed_parts(run) if run else [],
        brand=month_end.done_part(run, KIND_BRAND, "summary") if run else None,
        regions=month_end.region_parts(run) if run else [],
        kinds=month_end.KIND_LABELS, form=MonthEndForm(),
        refresh=bool(state and state.remaining),
    )


@bp.post("/month-end/start")
@requires(Cap.CHAIN_REPORTS)
def month_end_start():
    form = MonthEndForm()
    try:
        period = Period.month(request.form.get("month", ""))
    except PeriodError as error:
        flash(str(error), "error")
        return redirect(url_for("hq.month_end_page"), code=303)
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
    else:
        month_end_jobs.start(period.label, user_id=current_user.id)
        flash(_("The reports of %(month)s are being built.", month=period.label), "success")
    return redirect(url_for("hq.month_end_page", month=period.label), code=303)


@bp.post("/month-end/runs/<int:run_id>/rerun")
@requires(Cap.CHAIN_REPORTS)
def month_end_rerun(run_id: int):
    """Start again one failed part (``part`` in the form) or all of the run's failed parts."""
    run = db.get_or_404(MonthEndRun, run_id)
    form = MonthEndForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
    else:
        part_id = request.form.get("part", type=int)
        count = month_end_jobs.rerun(run, [part_id] if part_id else None)
        flash(_("%(n)s failed part(s) started again.", n=count), "success")
    return redirect(url_for("hq.month_end_page", month=run.month), code=303)


@bp.route("/month-end/parts/<int:part_id>.pdf")
@requires(Cap.CHAIN_REPORTS)
def month_end_part_pdf(part_id: int):
    part = db.get_or_404(MonthEndPart, part_id)
    if part.status != PART_DONE or part.kind == KIND_BRAND_PIECE:
        abort(404)
    response = storage.send(part.storage_key, "application/pdf", download_name=part.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/month-end/runs/<int:run_id>/stores.zip")
@requires(Cap.CHAIN_REPORTS)
def month_end_zip(run_id: int):
    """Every finished store report of the run as one ZIP, streamed from storage."""
    run = db.get_or_404(MonthEndRun, run_id)
    response = Response(month_end.zip_stream(run), mimetype="application/zip")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="store-reports-{run.month}.zip"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
