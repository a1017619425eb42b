"""Shopper pay (issue #20): a fee per visit kind and type (HQ settings, effective-dated),
an expense cap per assignment (set when it is scheduled), and at release the payable
amount fee + min(receipt total, cap). A returned visit becomes payable only once it is
released; a rejected one never. Statuses new → approved → paid: HQ approves in bulk,
exports a payment batch (CSV/XLSX with the payout details, in the chain's currency) and
marks the batch paid. Amounts are ``Decimal`` (Numeric columns), never float; every
change is in the audit trail. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .audit import log_change
from .extensions import db
from .models import PaymentBatch, ShopperProfile, User, Visit, VisitPay, utcnow
from .models.shopper import PAY_APPROVED, PAY_NEW, PAY_PAID, PAY_STATUSES
from .models.visit import COMPETITOR, MYSTERY
from .scoring import VISIT_TYPES
from .settings import get_setting, save_setting

SETTINGS_KEY = "shopper_pay"
CENT = Decimal("0.01")
PAID_KINDS = (MYSTERY, COMPETITOR)
DEFAULTS: dict[str, Any] = {
    "currency": "CNY",
    "default_expense_cap": "60.00",
    "fees": {kind: {vtype: "50.00" for vtype in VISIT_TYPES} for kind in PAID_KINDS},
}
PAY_STATUS_LABELS: dict[str, Any] = {
    PAY_NEW: lazy_pgettext("pay status", "New"),
    PAY_APPROVED: lazy_pgettext("pay status", "Approved"),
    PAY_PAID: lazy_pgettext("pay status", "Paid"),
}
assert tuple(PAY_STATUS_LABELS) == PAY_STATUSES


class PaymentError(ValueError):
    """A pay change the rules refuse; the message says why."""


def money(value: object) -> Decimal:
    """A non-negative amount to the cent; PaymentError otherwise. Floats go through
    their shortest text (``0.1`` → ``0.10``), never their binary value."""
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise PaymentError(_("Write an amount such as 12.50.")) from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("9999999999.99"):
        raise PaymentError(_("Write an amount such as 12.50."))
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def payable(fee: Decimal, receipt_total: object, cap: Decimal | None) -> tuple[Decimal, Decimal]:
    """(expenses, amount): expenses = min(receipt total, cap) (none without a receipt
    total or a cap), amount = fee + expenses; to the cent."""
    receipt = money(receipt_total) if receipt_total is not None else Decimal("0.00")
    expenses = min(receipt, cap) if cap is not None else Decimal("0.00")
    return expenses, (fee + expenses).quantize(CENT)


# --- settings ------------------------------------------------------------------------------


def config(month: object = None) -> dict[str, Any]:
    stored = get_setting(SETTINGS_KEY, month)
    fees = {kind: {vtype: str(money(((stored.get("fees") or {}).get(kind) or {}).get(
        vtype, DEFAULTS["fees"][kind][vtype]))) for vtype in VISIT_TYPES}
        for kind in PAID_KINDS}
    return {"currency": str(stored.get("currency", DEFAULTS["currency"])),
            "default_expense_cap": str(money(stored.get("default_expense_cap",
                                                        DEFAULTS["default_expense_cap"]))),
            "fees": fees}


def save_config(currency: str, default_cap: str, fees: dict[str, dict[str, str]],
                user_id: int | None, effective_from: str | None = None) -> None:
    if effective_from is not None:
        from .analytics import Period, PeriodError

        try:
            effective_from = Period.month(effective_from).label
        except PeriodError as error:
            raise PaymentError(str(error)) from None
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise PaymentError(_("The currency is a three-letter code such as CNY."))
    value = {"currency": currency, "default_expense_cap": str(money(default_cap)),
             "fees": {k: {t: str(money(fees[k][t])) for t in VISIT_TYPES} for k in PAID_KINDS}}
    save_setting(SETTINGS_KEY, value, user_id, effective_from)


def fee_for(visit: Visit) -> Decimal:
    return money(config(visit.month)["fees"].get(visit.kind, {}).get(visit.visit_type, "0"))


# --- the assignment's cap, and release ----------------------------------------------------------


def pay_row(visit_id: int) -> VisitPay | None:
    return db.session.get(VisitPay, visit_id)


def set_expense_cap(visit: Visit, cap: object, user_id: int | None) -> VisitPay:
    """The expense cap of one assignment (when it is scheduled, or HQ changes it before
    the visit is paid for)."""
    amount = money(cap)
    row = pay_row(visit.id)
    if row is not None and row.status is not None:
        raise PaymentError(_("This visit is already payable: its expense cap is final."))
    before = (None if row is None or row.expense_cap is None
              else {"expense_cap": str(row.expense_cap)})
    if row is None:
        row = VisitPay(visit_id=visit.id, currency=config(visit.month)["currency"])
        db.session.add(row)
    row.expense_cap = amount
    log_change("visit_pay", visit.id, "expense_cap", user_id, before,
               {"expense_cap": str(amount)})
    return row


def cap_new_assignments(visits: list[Visit], user_id: int | None) -> None:
    """At scheduling: each new assignment gets the default expense cap in force for its
    month (one audit row for them all)."""
    if not visits:
        return
    for visit in visits:
        cfg = config(visit.month)
        db.session.add(VisitPay(visit_id=visit.id, currency=cfg["currency"],
                                expense_cap=money(cfg["default_expense_cap"])))
    log_change("visit_pay", visits[0].month, "expense_cap", user_id, None,
               {"visits": [v.id for v in visits],
                "expense_cap": config(visits[0].month)["default_expense_cap"]})


def on_release(visit: Visit, user_id: int | None) -> VisitPay | None:
    """A shopper's visit was released: its pay becomes payable (status new). Called by
    ``visits.release``; a visit released again after a dispute keeps its pay."""
    if visit.kind not in PAID_KINDS or visit.evaluator_id is None:
        return None
    row = pay_row(visit.id)
    if row is not None and row.status is not None:
        return row
    cfg = config(visit.month)
    if row is None:
        row = VisitPay(visit_id=visit.id, currency=cfg["currency"])
        db.session.add(row)
    if row.expense_cap is None:  # not scheduled by ``scheduling``: the default in force
        row.expense_cap = money(cfg["default_expense_cap"])
    row.fee = fee_for(visit)
    row.expenses, row.amount = payable(row.fee, visit.receipt_total, row.expense_cap)
    row.currency = cfg["currency"]
    row.shopper_id = visit.evaluator_id
    row.status = PAY_NEW
    row.payable_at = utcnow()
    log_change("visit_pay", visit.id, "payable", user_id, None, _state(row))
    return row


def _state(row: VisitPay) -> dict[str, Any]:
    return {"fee": str(row.fee), "expenses": str(row.expenses), "amount": str(row.amount),
            "expense_cap": None if row.expense_cap is None else str(row.expense_cap),
            "currency": row.currency, "status": row.status, "batch_id": row.batch_id}


# --- approve, batch, pay ------------------------------------------------------------------------


def lines(status: str | None = None, shopper_id: int | None = None) -> list[VisitPay]:
    query = (select(VisitPay).where(VisitPay.status.is_not(None))
             .options(selectinload(VisitPay.visit).selectinload(Visit.store),
                      selectinload(VisitPay.visit).selectinload(Visit.competitor),
                      selectinload(VisitPay.shopper))
             .order_by(VisitPay.payable_at.desc(), VisitPay.visit_id.desc()))
    if status is not None:
        query = query.where(VisitPay.status == status)
    if shopper_id is not None:
        query = query.where(VisitPay.shopper_id == shopper_id)
    return list(db.session.scalars(query))


def totals_by_status() -> dict[str, tuple[int, Decimal]]:
    return {status: (count, money(total or 0)) for status, count, total in db.session.execute(
        select(VisitPay.status, func.count(VisitPay.visit_id), func.sum(VisitPay.amount))
        .where(VisitPay.status.is_not(None)).group_by(VisitPay.status))}


def approve(visit_ids: list[int], user_id: int | None) -> int:
    """Approve the chosen new lines (others are left as they are); returns how many."""
    rows = list(db.session.scalars(select(VisitPay).where(
        VisitPay.visit_id.in_(visit_ids), VisitPay.status == PAY_NEW).with_for_update()))
    for row in rows:
        row.status = PAY_APPROVED
        log_change("visit_pay", row.visit_id, "approve", user_id, {"status": PAY_NEW},
                   {"status": PAY_APPROVED, "amount": str(row.amount)})
    return len(rows)


def create_batch(user_id: int | None) -> PaymentBatch:
    """Put every approved line not yet in a batch into a new batch (one currency)."""
    rows = list(db.session.scalars(select(VisitPay).where(
        VisitPay.status == PAY_APPROVED, VisitPay.batch_id.is_(None))
        .order_by(VisitPay.visit_id).with_for_update()))
    if not rows:
        raise PaymentError(_("No approved pay is waiting for a batch."))
    currencies = {r.currency for r in rows}
    if len(currencies) > 1:
        raise PaymentError(_("The approved pay is in more than one currency."))
    batch = PaymentBatch(created_by_id=user_id, currency=currencies.pop(),
                         total=sum((r.amount for r in rows), Decimal("0.00")))
    db.session.add(batch)
    db.session.flush()
    for row in rows:
        row.batch_id = batch.id
    log_change("payment_batch", batch.id, "create", user_id, None,
               {"visits": [r.visit_id for r in rows], "total": str(batch.total),
                "currency": batch.currency})
    return batch


def mark_paid(batch: PaymentBatch, user_id: int | None) -> None:
    if batch.paid_at is not None:
        raise PaymentError(_("This batch is already paid."))
    batch.paid_at = utcnow()
    batch.paid_by_id = user_id
    for row in batch.lines:
        row.status = PAY_PAID
    log_change("payment_batch", batch.id, "paid", user_id, {"status": PAY_APPROVED},
               {"status": PAY_PAID, "visits": [r.visit_id for r in batch.lines],
                "total": str(batch.total)})


def batches() -> list[PaymentBatch]:
    return list(db.session.scalars(select(PaymentBatch).order_by(PaymentBatch.id.desc())))


BATCH_HEADER = ("Visit", "Month", "Visit date", "Shopper code", "Shopper name", "Payout method",
                "Payout name", "Payout account", "Fee", "Expenses", "Amount", "Currency")


def batch_rows(batch: PaymentBatch) -> list[tuple]:
    """One row per visit of the batch, with the shopper's payout details (HQ only)."""
    profiles = {p.user_id: p for p in db.session.scalars(select(ShopperProfile).where(
        ShopperProfile.user_id.in_({r.shopper_id for r in batch.lines})))}
    out = []
    for r in batch.lines:
        p = profiles.get(r.shopper_id)
        shopper: User | None = r.shopper
        out.append((r.visit_id, r.visit.month,
                    r.visit.visit_date.isoformat() if r.visit.visit_date else "",
                    shopper.username if shopper else "", shopper.name if shopper else "",
                    p.payout_method if p else "", p.payout_name if p else "",
                    p.payout_account if p else "", r.fee, r.expenses, r.amount, r.currency))
    return out


@dataclass
class Statement:
    lines: list[VisitPay]
    totals: dict[str, Decimal]
    currency: str


def statement(user: User) -> Statement:
    """A shopper's own statement: each payable visit with fee, expenses, amount, status."""
    rows = lines(shopper_id=user.id)
    totals = {status: money(total or 0) for status, total in db.session.execute(
        select(VisitPay.status, func.sum(VisitPay.amount))
        .where(VisitPay.shopper_id == user.id, VisitPay.status.is_not(None))
        .group_by(VisitPay.status))}
    return Statement(rows, totals, rows[0].currency if rows else config()["currency"])
