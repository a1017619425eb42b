"""Issue #20 in a real Chromium on a phone: HQ grades a report on the visit page and
releases it; the shopper marks days unavailable and reads their pay on their history page.
Nothing is wider than the phone."""

from __future__ import annotations

import pytest

from auditapp.extensions import db
from auditapp.models import ReportGrade, ShopperUnavailable
from auditapp.models.visit import SUBMITTED

from .conftest import browser_login, screenshot
from .factories import make_visit

pytestmark = pytest.mark.browser


def test_grade_release_and_the_shoppers_pay_on_a_phone(live_server, phone, chain, tmp_path):
    visit = make_visit(chain, chain.stores[0], status=SUBMITTED)
    visit.receipt_total = 12.34
    db.session.commit()

    browser_login(phone, live_server, "hq@example.com")
    phone.goto(f"{live_server}/hq/visits/{visit.id}")
    phone.select_option("#grade-value", "7")
    phone.check("input[name=reasons][value=late]")
    phone.click("form.grade-form button[type=submit]")
    phone.wait_for_url(f"{live_server}/hq/visits/{visit.id}#grade")
    assert "7/10" in phone.locator("#grade").inner_text()
    screenshot(phone, tmp_path=tmp_path, name="hq-grade-phone.png")
    phone.click("#review form button.btn-primary")  # release
    phone.wait_for_url(f"{live_server}/hq/review")
    db.session.expire_all()
    assert db.session.get(ReportGrade, visit.id).reasons == ["late"]
    phone.goto(f"{live_server}/hq/payments")
    assert "62.34" in phone.locator("main").inner_text()  # 50.00 + 12.34 (cap 60.00)
    phone.context.clear_cookies()

    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/profile")
    phone.fill("#first", "2027-03-01")
    phone.fill("#last", "2027-03-03")
    phone.click("#unavailable form:not(.inline) button[type=submit]")
    phone.wait_for_url(f"{live_server}/shopper/profile")
    assert db.session.query(ShopperUnavailable).count() == 3
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.goto(f"{live_server}/shopper/history")
    text = phone.locator("main").inner_text()
    assert "Fee 50.00 + expenses 12.34 = 62.34 CNY" in text
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, tmp_path=tmp_path, name="shopper-history-phone.png")
