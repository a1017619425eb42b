"""Score receipts (HQ): how a visit's score and a store-month's BDI were made, recomputed
from the raw rows by ``receipts.py``."""

from __future__ import annotations

from flask import render_template
from sqlalchemy.orm import selectinload

from .. import params, receipts
from ..extensions import db
from ..models import Answer, Store, Visit
from ..permissions import Cap, requires
from ..settings import scoring_config
from . import bp


@bp.route("/receipts/visits/<int:visit_id>")
@requires(Cap.VIEW_CHAIN)
def visit_receipt(visit_id: int):
    visit = db.get_or_404(Visit, visit_id, options=[
        selectinload(Visit.answers).selectinload(Answer.item)])
    receipt = receipts.visit_receipt(visit, scoring_config())
    return render_template("hq/receipt_visit.html", visit=visit, receipt=receipt)


@bp.route("/receipts/stores/<int:store_id>")
@requires(Cap.VIEW_CHAIN)
def store_receipt(store_id: int):
    store = db.get_or_404(Store, store_id)
    period, month_value, month_error = params.month_for_page()
    config = scoring_config()
    receipt = receipts.store_receipt(store, period, config)
    return render_template("hq/receipt_store.html", store=store, receipt=receipt,
                           period=period, month_value=month_value, month_error=month_error,
                           config=config)
