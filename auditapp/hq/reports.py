"""HQ: reports — visit PDFs, store month PDFs, the brand summary and exports (issue #6)."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import exports, jobs, params, storage
from ..extensions import db
from ..models import Region, Store, Visit
from ..permissions import Cap, requires
from ..reports import views
from ..reports.pdf import brand_summary_pdf
from . import bp

#: Chains up to this many active stores get their brand summary rendered in the request.
SYNC_MAX_STORES = 200


@bp.route("/reports")
@requires(Cap.CHAIN_REPORTS)
def reports():
    period, month_value, month_error = params.month_for_page()
    regions = db.session.scalars(
        select(Region).where(Region.active.is_(True)).order_by(Region.name)
    ).all()
    stores = db.session.scalars(
        select(Store).where(Store.active.is_(True)).order_by(Store.code)
    ).all()
    return render_template(
        "hq/reports.html", period=period, regions=regions, stores=stores,
        month_value=month_value, month_error=month_error,
    )


@bp.route("/reports/visit")
@requires(Cap.CHAIN_REPORTS)
def report_visit_pick():
    try:
        visit_id = params.ident("visit")
    except params.BadParameter:
        visit_id = None
    if visit_id is None:
        flash(_("Enter the number of a visit (e.g. 1024)."), "error")
        return redirect(url_for("hq.reports", month=request.args.get("month") or None))
    return redirect(url_for("hq.report_visit_pdf", visit_id=visit_id))


@bp.route("/reports/store")
@requires(Cap.CHAIN_REPORTS)
def report_store_pick():
    try:
        store_id = params.ident("store")
    except params.BadParameter:
        store_id = None
    if store_id is None:
        flash(_("Choose a store."), "error")
        return redirect(url_for("hq.reports", month=request.args.get("month") or None))
    return redirect(url_for("hq.report_store_pdf", store_id=store_id,
                            month=request.args.get("month") or None))


@bp.route("/reports/visits/<int:visit_id>.pdf")
@requires(Cap.CHAIN_REPORTS)
def report_visit_pdf(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    return views.visit_pdf(visit, show_shopper=True)


@bp.route("/reports/stores/<int:store_id>.pdf")
@requires(Cap.CHAIN_REPORTS)
def report_store_pdf(store_id: int):
    store = db.get_or_404(Store, store_id)
    return views.store_month_pdf(store, params.month())


def _region_arg() -> Region | None:
    region_id = params.ident("region")
    return db.get_or_404(Region, region_id) if region_id is not None else None


@bp.route("/reports/brand.pdf")
@requires(Cap.CHAIN_REPORTS)
def report_brand_pdf():
    """The brand (or one region's) summary: rendered now for a small chain, else as a
    background job with a status page."""
    period = params.month()
    region = _region_arg()
    count_query = select(func.count(Store.id)).where(Store.active.is_(True))
    if region is not None:
        count_query = count_query.where(Store.region_id == region.id)
    limit = current_app.config.get("REPORT_SYNC_MAX_STORES", SYNC_MAX_STORES)
    if db.session.scalar(count_query) <= limit:
        return views.pdf_response(*brand_summary_pdf(period, region))
    job_id = jobs.start_report(
        "brand_summary",
        {"month": period.label, "region_id": region.id if region else None,
         "locale": str(get_locale() or "en")},
    )
    return redirect(url_for("hq.report_job", job_id=job_id))


def _job_or_404(job_id: str) -> dict:
    status = jobs.job_status(job_id)
    if status is None:
        abort(404)
    return status


def _job_message(status: dict) -> str | None:
    """What the status page says about a job that waits in vain or failed."""
    reason = status.get("reason")
    if reason == jobs.NO_WORKER:
        return _("No report worker is running, so this report has not started. "
                 "Build it now instead, or ask your administrator to start the worker.")
    if reason == jobs.WORKER_LOST:
        return _("The report worker stopped while building this report. Please try again.")
    if status["status"] == jobs.FAILED:
        return _("The report could not be generated. Please try again or contact support.")
    return None


@bp.route("/reports/jobs/<job_id>")
@requires(Cap.CHAIN_REPORTS)
def report_job(job_id: str):
    status = _job_or_404(job_id)
    return render_template("hq/reports_job.html", job_id=job_id, status=status,
                           message=_job_message(status))


@bp.route("/reports/jobs/<job_id>.json")
@requires(Cap.CHAIN_REPORTS)
def report_job_json(job_id: str):
    status = _job_or_404(job_id)
    body = {"status": status["status"], "progress": status.get("progress", 0)}
    if status.get("reason"):
        body.update(reason=status["reason"], message=_job_message(status))
    if status["status"] == jobs.FINISHED:
        body["download_url"] = url_for("hq.report_job_download", job_id=job_id)
    return jsonify(body)


@bp.route("/reports/jobs/<job_id>/retry", methods=["POST"])
@requires(Cap.CHAIN_REPORTS)
def report_job_retry(job_id: str):
    """Start again a job that failed or has no worker (a job still fine is kept)."""
    new_id = jobs.retry_report(job_id)
    if new_id is None:
        abort(404)
    return redirect(url_for("hq.report_job", job_id=new_id))


@bp.route("/reports/jobs/<job_id>/download")
@requires(Cap.CHAIN_REPORTS)
def report_job_download(job_id: str):
    status = _job_or_404(job_id)
    if status["status"] != jobs.FINISHED:
        abort(404)
    response = storage.send(status.get("key"), "application/pdf",
                            download_name=status.get("filename") or "report.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/reports/export/visits.<fmt>")
@requires(Cap.CHAIN_REPORTS)
def report_export_visits(fmt: str) -> Response:
    period = params.month()
    region = _region_arg()
    return exports.visits_response(
        period, fmt, region_id=region.id if region else None, include_shopper=True
    )


@bp.route("/reports/export/scores.<fmt>")
@requires(Cap.CHAIN_REPORTS)
def report_export_scores(fmt: str) -> Response:
    period = params.month()
    region = _region_arg()
    return exports.scores_response(period, fmt, region_id=region.id if region else None)

