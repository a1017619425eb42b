"""Helpers shared by the HQ and manager report views."""

from __future__ import annotations

from datetime import date

from flask import Response

from .. import analytics
from ..models import Store, Visit
from . import context
from .pdf import render_report


def pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def visit_document(visit: Visit, *, show_shopper: bool) -> tuple[bytes, str]:
    """The visit report: (PDF bytes, file name) — for the downloads and ``flask reports``."""
    ctx, files = context.visit_context(visit, show_shopper=show_shopper)
    data = render_report("visit.html", allowed_files=files, report_date=date.today(), **ctx)
    code = visit.store.code if visit.store else "competitor"
    return data, f"visit-{visit.id}-{code}.pdf"


def visit_pdf(visit: Visit, *, show_shopper: bool) -> Response:
    return pdf_response(*visit_document(visit, show_shopper=show_shopper))


def store_month_document(store: Store, period: analytics.Period,
                         report_date: date | None = None) -> tuple[bytes, str]:
    """The store's monthly report: (PDF bytes, file name) — for the downloads, the
    month-end run and ``flask reports``."""
    ctx = context.store_month_context(store, period)
    data = render_report("store_month.html", report_date=report_date or date.today(), **ctx)
    return data, f"store-{store.code}-{period.label}.pdf"


def store_month_pdf(store: Store, period: analytics.Period) -> Response:
    return pdf_response(*store_month_document(store, period))
