"""Shopper pay (issue #20): fee + min(receipt total, cap) to the cent at release, the
statuses new → approved → paid, the payment batch export, the shopper's statement."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from auditapp import payments, scheduling
from auditapp.extensions import db
from auditapp.models import AuditLog, PaymentBatch, ShopperProfile, Visit, VisitPay
from auditapp.models.visit import SUBMITTED

from .factories import make_visit


def test_payable_is_fee_plus_capped_expenses_to_the_cent():
    fee = Decimal("45.50")
    assert payments.payable(fee, 37.455, Decimal("30.00")) == (Decimal("30.00"),
                                                               Decimal("75.50"))
    assert payments.payable(fee, 12.345, Decimal("30.00")) == (Decimal("12.35"),
                                                               Decimal("57.85"))
    assert payments.payable(fee, 0.1 + 0.2, Decimal("30.00")) == (Decimal("0.30"),
                                                                  Decimal("45.80"))
    assert payments.payable(fee, None, Decimal("30.00")) == (Decimal("0.00"), fee)
    assert payments.payable(fee, 20, None) == (Decimal("0.00"), fee)
    for bad in ("-1", "abc", "nan", "1e20"):
        with pytest.raises(payments.PaymentError):
            payments.money(bad)


def _submitted(chain, store, receipt, visit_type="dine_in", shopper=None):
    visit = make_visit(chain, store, status=SUBMITTED, visit_type=visit_type, shopper=shopper)
    visit.receipt_total = receipt
    db.session.commit()
    return visit


def _set_fees(client, dine_in="45.50", cap="30.00", effective_from=""):
    data = {f"fee-{k}-{t}": "50.00" for k in payments.PAID_KINDS
            for t in ("drive_thru", "walk_in", "dine_in")}
    data.update({"fee-mystery-dine_in": dine_in, "default_expense_cap": cap,
                 "currency": "cny", "effective_from": effective_from})
    return client.post("/hq/payments/settings", data=data)


def test_release_makes_pay_new_then_approve_batch_export_and_paid(client, auth, chain):
    auth.login("hq@example.com")
    assert _set_fees(client).status_code == 303
    a, b = chain.shoppers[0], chain.shoppers[1]
    v1 = _submitted(chain, chain.stores[0], 37.455, shopper=a)
    v2 = _submitted(chain, chain.stores[1], 12.345, shopper=b)
    v3 = _submitted(chain, chain.stores[2], 20.0, shopper=a)   # returned, then released
    v4 = _submitted(chain, chain.stores[3], 20.0, shopper=b)   # rejected: never paid
    for v in (v1, v2, v3):
        payments.set_expense_cap(v, "30", chain.hq.id)
    db.session.commit()
    client.post(f"/hq/visits/{v3.id}/return", data={"reason": "Photo missing"})
    client.post(f"/hq/visits/{v4.id}/reject", data={"reason": "Not a real visit"})
    for v in (v1, v2):
        assert client.post(f"/hq/visits/{v.id}/release").status_code == 303
    rows = {r.visit_id: r for r in db.session.scalars(select(VisitPay))}
    assert (rows[v1.id].fee, rows[v1.id].expenses, rows[v1.id].amount) == (
        Decimal("45.50"), Decimal("30.00"), Decimal("75.50"))
    assert (rows[v2.id].expenses, rows[v2.id].amount) == (Decimal("12.35"), Decimal("57.85"))
    assert rows[v1.id].status == rows[v2.id].status == "new"
    assert rows[v1.id].currency == "CNY"
    assert rows[v3.id].status is None  # returned: not payable until released
    assert v4.id not in rows or rows[v4.id].status is None
    # the returned visit comes back and is released: now payable
    db.session.get(Visit, v3.id).status = SUBMITTED
    db.session.commit()
    client.post(f"/hq/visits/{v3.id}/release")
    db.session.expire_all()
    assert db.session.get(VisitPay, v3.id).amount == Decimal("65.50")
    # the cap is final once payable
    with pytest.raises(payments.PaymentError):
        payments.set_expense_cap(db.session.get(Visit, v3.id), "99", chain.hq.id)

    page = client.get("/hq/payments?status=new").get_data(as_text=True)
    assert "75.50" in page and "57.85" in page and "65.50" in page
    # approve two of the three in bulk; a batch takes only approved lines
    client.post("/hq/payments/approve", data={"visit_ids": [str(v1.id), str(v2.id)]})
    db.session.expire_all()
    assert [db.session.get(VisitPay, v.id).status for v in (v1, v2, v3)] == [
        "approved", "approved", "new"]
    db.session.add(ShopperProfile(user_id=a.id, payout_method="Alipay", payout_name="Li Lei",
                                  payout_account="=HYPERLINK(\"x\")"))
    db.session.commit()
    client.post("/hq/payments/batches")
    batch = db.session.scalars(select(PaymentBatch)).one()
    assert batch.total == Decimal("133.35") and batch.currency == "CNY"
    # a second batch has nothing to take
    r = client.post("/hq/payments/batches", follow_redirects=True)
    assert "No approved pay is waiting" in r.get_data(as_text=True)

    xlsx = client.get(f"/hq/payments/batches/{batch.id}.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(BytesIO(xlsx.data)).active
    values = list(sheet.values)
    header, lines = values[0], values[1:]
    assert header[-4:] == ("Fee", "Expenses", "Amount", "Currency")
    assert sum(Decimal(str(r[10])) for r in lines) == batch.total
    assert {r[3] for r in lines} == {"MS-101", "MS-102"}
    row_a = next(r for r in lines if r[3] == "MS-101")
    assert row_a[5:8] == ("Alipay", "Li Lei", "=HYPERLINK(\"x\")")
    assert sheet.cell(row=lines.index(row_a) + 2, column=8).data_type == "s"  # not a formula
    csv_text = client.get(f"/hq/payments/batches/{batch.id}.csv").get_data(as_text=True)
    assert "75.50" in csv_text and "57.85" in csv_text and "'=HYPERLINK" in csv_text

    client.post(f"/hq/payments/batches/{batch.id}/paid")
    db.session.expire_all()
    assert [db.session.get(VisitPay, v.id).status for v in (v1, v2, v3)] == [
        "paid", "paid", "new"]
    r = client.post(f"/hq/payments/batches/{batch.id}/paid", follow_redirects=True)
    assert "already paid" in r.get_data(as_text=True)
    actions = {(e.entity, e.action) for e in db.session.scalars(select(AuditLog))}
    assert {("visit_pay", "payable"), ("visit_pay", "approve"), ("visit_pay", "expense_cap"),
            ("payment_batch", "create"), ("payment_batch", "paid"),
            ("setting", "update")} <= actions

    # the shopper's own statement and history
    auth.logout()
    auth.login("MS-101")
    html = client.get("/shopper/history").get_data(as_text=True)
    assert "Fee 45.50 + expenses 30.00 = 75.50 CNY" in html
    assert "Paid: 75.50 CNY" in html and "New: 65.50 CNY" in html
    assert "57.85" not in html  # another shopper's pay
    assert "Grade" not in html  # HQ does not share grades by default


def test_fee_settings_are_effective_dated(client, auth, chain):
    auth.login("hq@example.com")
    _set_fees(client, dine_in="40.00")
    _set_fees(client, dine_in="60.00", effective_from="2026-07")
    assert payments.config("2026-05")["fees"]["mystery"]["dine_in"] == "40.00"
    assert payments.config("2026-08")["fees"]["mystery"]["dine_in"] == "60.00"
    r = _set_fees(client, dine_in="-3")
    assert r.status_code == 303 and payments.config("2026-05")["fees"]["mystery"][
        "dine_in"] == "40.00"


def test_scheduling_gives_each_new_assignment_the_default_cap(client, auth, chain):
    auth.login("hq@example.com")
    _set_fees(client, cap="25.80")
    plan = scheduling.generate_month("2027-01", chain.hq.id)
    db.session.commit()
    caps = {db.session.get(VisitPay, v.id).expense_cap for v in plan.created}
    assert caps == {Decimal("25.80")}
    visit = plan.created[0]
    client.post(f"/hq/visits/{visit.id}/expense-cap", data={"expense_cap": "40"})
    db.session.expire_all()
    assert db.session.get(VisitPay, visit.id).expense_cap == Decimal("40.00")


def test_only_hq_sees_pay(client, auth, chain):
    for who in ("m.e001@example.com", "MS-101", "qa@example.com"):
        auth.login(who)
        assert client.get("/hq/payments").status_code == 403
        assert client.post("/hq/payments/approve").status_code == 403
        auth.logout()


def test_shopper_sees_the_grade_only_when_hq_shares_it(client, auth, chain):
    from auditapp import shoppers

    visit = make_visit(chain, chain.stores[0], status=SUBMITTED)
    shoppers.grade_report(visit, chain.hq, 7, ["late"])
    db.session.commit()
    auth.login("MS-101")
    assert "Grade 7/10" not in client.get("/shopper/history").get_data(as_text=True)
    auth.logout()
    auth.login("hq@example.com")
    client.post("/hq/shoppers/settings", data={"share_grade": "1"})
    auth.logout()
    auth.login("MS-101")
    html = client.get("/shopper/history").get_data(as_text=True)
    assert "Grade 7/10" in html and "Payable once released." in html
