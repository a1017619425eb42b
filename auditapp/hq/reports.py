"""HQ: reports — visit PDFs, store month PDFs, the brand summary and exports (issue #6)."""

from __future__ import annotations

from datetime import date

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
from ..models import HQ_ADMIN, Region, Store, Visit
from ..reports import context, views
from ..reports.pdf import render_brand_summary
from ..security import roles_required
from . import bp

#: Chains up to this many active stores get their brand summary rendered in the request.
SYNC_MAX_STORES = 200


@bp.route("/reports")
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
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
@roles_required(HQ_ADMIN)
def report_visit_pdf(visit_id: int):
    visit = views.get_or_404(Visit, visit_id)
    return views.visit_pdf(visit, show_shopper=True)


@bp.route("/reports/stores/<int:store_id>.pdf")
@roles_required(HQ_ADMIN)
def report_store_pdf(store_id: int):
    store = views.get_or_404(Store, store_id)
    return views.store_month_pdf(store, params.month())


def _region_arg() -> Region | None:
    region_id = params.ident("region")
    return views.get_or_404(Region, region_id) if region_id is not None else None


@bp.route("/reports/brand.pdf")
@roles_required(HQ_ADMIN)
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
        ctx = context.brand_summary_context(period, region)
        data = render_brand_summary(ctx, report_date=date.today())
        suffix = f"-{region.code}" if region else ""
        return views.pdf_response(data, f"brand-summary-{period.label}{suffix}.pdf")
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


@bp.route("/reports/jobs/<job_id>")
@roles_required(HQ_ADMIN)
def report_job(job_id: str):
    status = _job_or_404(job_id)
    return render_template("hq/reports_job.html", job_id=job_id, status=status)


@bp.route("/reports/jobs/<job_id>.json")
@roles_required(HQ_ADMIN)
def report_job_json(job_id: str):
    status = _job_or_404(job_id)
    body = {"status": status["status"], "progress": status.get("progress", 0)}
    if status["status"] == jobs.FINISHED:
        body["download_url"] = url_for("hq.report_job_download", job_id=job_id)
    return jsonify(body)


@bp.route("/reports/jobs/<job_id>/download")
@roles_required(HQ_ADMIN)
def report_job_download(job_id: str):
    status = _job_or_404(job_id)
    if status["status"] != jobs.FINISHED:
        abort(404)
    response = storage.send(status.get("key"), "application/pdf",
                            download_name=status.get("filename") or "report.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/reports/export/visits.<fmt>")
@roles_required(HQ_ADMIN)
def report_export_visits(fmt: str) -> Response:
    period = params.month()
    region = _region_arg()
    return exports.visits_response(
        period, fmt, region_id=region.id if region else None, include_shopper=True
    )


@bp.route("/reports/export/scores.<fmt>")
@roles_required(HQ_ADMIN)
def report_export_scores(fmt: str) -> Response:
    period = params.month()
    region = _region_arg()
    return exports.scores_response(period, fmt, region_id=region.id if region else None)

