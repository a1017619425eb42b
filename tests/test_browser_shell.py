"""The web shell in a real phone-sized Chromium: log in, land, switch language."""

from __future__ import annotations

import os
from datetime import date

import pytest

from .conftest import browser_login
from .factories import make_visit

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("AUDITAPP_SCREENSHOTS")  # set to a folder to keep screenshots


def test_login_and_dashboard_on_a_phone(live_server, phone, chain, tmp_path):
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 3))
    phone.goto(f"{live_server}/")
    assert "/auth/login" in phone.url
    browser_login(phone, live_server, "hq@example.com", "wrong")
    assert phone.locator(".flash-error").is_visible()
    assert phone.input_value("input[name=username]") == "hq@example.com"
    browser_login(phone, live_server, "hq@example.com")
    phone.goto(f"{live_server}/hq/?month=2026-05")
    assert phone.locator("h1").inner_text().startswith("Brand Delivery Index")
    assert "上海南京西路店" in phone.content()
    # the page fits the phone: nothing wider than the viewport but the scrollable table
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    phone.screenshot(path=str(tmp_path / "hq-phone.png"), full_page=True)
    if SHOTS:
        phone.screenshot(path=os.path.join(SHOTS, "hq-dashboard-phone.png"), full_page=True)
    phone.click("text=中文")
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
