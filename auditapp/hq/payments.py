"""HQ: shopper pay (issue #20): fees and the default expense cap (effective-dated
settings), each visit's expense cap, bulk approval, payment batches (CSV/XLSX export with
the payout details) and marking a batch paid. HQ only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import exports, payments, settings
from ..extensions import db
from ..models import PaymentBatch, Visit
from ..models.shopper import PAY_STATUSES
from ..permissions import Cap, requires
from ..scoring import VISIT_TYPES
from . import bp
from .shoppers import CsrfForm


@bp.route("/payments")
@requires(Cap.MANAGE_MASTERDATA)
def payments_index():
    status = request.args.get("status", "new")
    if status not in PAY_STATUSES:
        status = "new"
    return render_template("hq/shoppers/payments.html", status=status,
                           lines=payments.lines(status), totals=payments.totals_by_status(),
                           batches=payments.batches(), config=payments.config(),
                           labels=payments.PAY_STATUS_LABELS, form=CsrfForm(formdata=None),
                           visit_types=VISIT_TYPES, kinds=payments.PAID_KINDS,
                           first_open=settings.first_open_month())


def _checked() -> bool:
    if CsrfForm().validate_on_submit():
        return True
    flash(_("The form expired; please try again."), "error")
    return False


@bp.post("/payments/approve")
@requires(Cap.MANAGE_MASTERDATA)
def payments_approve():
    if _checked():
        ids = [int(v) for v in request.form.getlist("visit_ids") if v.isdigit()][:5000]
        count = payments.approve(ids, current_user.id)
        db.session.commit()
        flash(_("%(n)s visits approved for payment.", n=count), "success")
    return redirect(url_for("hq.payments_index", status="new"), code=303)


@bp.post("/payments/batches")
@requires(Cap.MANAGE_MASTERDATA)
def payments_batch():
    if _checked():
        try:
            batch = payments.create_batch(current_user.id)
        except payments.PaymentError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Payment batch %(id)s created: export it, pay it, then mark it paid.",
                    id=batch.id), "success")
    return redirect(url_for("hq.payments_index", status="approved"), code=303)


@bp.route("/payments/batches/<int:batch_id>.<fmt>")
@requires(Cap.MANAGE_MASTERDATA)
def payments_export(batch_id: int, fmt: str):
    if fmt not in exports.FORMATS:
        abort(404)
    batch = db.get_or_404(PaymentBatch, batch_id)
    header = [_("Visit"), _("Month"), _("Visit date"), _("Shopper code"), _("Shopper name"),
              _("Payout method"), _("Payout name"), _("Payout account"), _("Fee"),
              _("Expenses"), _("Amount"), _("Currency")]
    rows = payments.batch_rows(batch)
    if fmt == "csv":
        rows = [tuple(str(c) for c in r) for r in rows]
    return exports.file_response(header, rows, fmt, f"payment-batch-{batch.id}")


@bp.post("/payments/batches/<int:batch_id>/paid")
@requires(Cap.MANAGE_MASTERDATA)
def payments_paid(batch_id: int):
    batch = db.get_or_404(PaymentBatch, batch_id)
    if _checked():
        try:
            payments.mark_paid(batch, current_user.id)
        except payments.PaymentError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Batch %(id)s marked paid.", id=batch.id), "success")
    return redirect(url_for("hq.payments_index", status="paid"), code=303)


@bp.post("/payments/settings")
@requires(Cap.MANAGE_SETTINGS)
def payments_settings():
    if _checked():
        fees = {k: {t: request.form.get(f"fee-{k}-{t}", "") for t in VISIT_TYPES}
                for k in payments.PAID_KINDS}
        try:
            payments.save_config(request.form.get("currency", ""),
                                 request.form.get("default_expense_cap", ""), fees,
                                 current_user.id, request.form.get("effective_from") or None)
        except (payments.PaymentError, settings.SettingsError) as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Fees saved."), "success")
    return redirect(url_for("hq.payments_index"), code=303)


@bp.post("/visits/<int:visit_id>/expense-cap")
@requires(Cap.SCHEDULE_VISITS)
def visit_expense_cap(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    if _checked():
        try:
            payments.set_expense_cap(visit, request.form.get("expense_cap", ""),
                                     current_user.id)
        except payments.PaymentError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Expense cap saved."), "success")
    return redirect(url_for("hq.visit_detail", visit_id=visit.id) + "#grade", code=303)
