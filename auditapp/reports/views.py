"""Helpers shared by the HQ and manager report views."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, request

from .. import analytics
from ..models import Store, Visit
from . import context
from .pdf import render_report


def month_arg() -> analytics.Period:
    """``?month=YYYY-MM`` (default: the latest month with a released visit); 404 if bad."""
    text = request.args.get("month") or analytics.latest_month()
    try:
        return analytics.Period.month(text)
    except analytics.PeriodError:
        abort(404)


def month_for_page() -> tuple[analytics.Period, str, str | None]:
    """For a page with a month picker: (period, the text typed, an error message)."""
    from flask_babel import gettext as _

    text = request.args.get("month", "").strip()
    if not text:
        latest = analytics.latest_month()
        return analytics.Period.month(latest), latest, None
    try:
        return analytics.Period.month(text), text, None
    except analytics.PeriodError:
        latest = analytics.Period.month(analytics.latest_month())
        return latest, text, _("Write the month as YYYY-MM, e.g. 2026-05.")


def pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def visit_pdf(visit: Visit, *, show_shopper: bool) -> Response:
    ctx, files = context.visit_context(visit, show_shopper=show_shopper)
    data = render_report("visit.html", allowed_files=files, report_date=date.today(), **ctx)
    code = visit.store.code if visit.store else "competitor"
    return pdf_response(data, f"visit-{visit.id}-{code}.pdf")


def store_month_pdf(store: Store, period: analytics.Period) -> Response:
    ctx = context.store_month_context(store, period)
    data = render_report("store_month.html", report_date=date.today(), **ctx)
    return pdf_response(data, f"store-{store.code}-{period.label}.pdf")
