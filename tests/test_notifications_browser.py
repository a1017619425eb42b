"""The inbox in a real Chromium on a phone: HQ releases a visit with a failed critical item,
the store manager sees the unread count on the bell, opens the hot alert and lands on the
audit; the count is gone and nothing names the shopper."""

from __future__ import annotations

import pytest

from auditapp import visits
from auditapp.extensions import db
from auditapp.models.visit import SUBMITTED

from .conftest import browser_login, screenshot
from .manager_helpers import SHOPPER_SECRETS, released_visit

pytestmark = pytest.mark.browser


def test_manager_bell_and_inbox_on_a_phone(live_server, phone, chain, tmp_path):
    visit = released_visit(chain)  # the restroom (a critical item) failed
    visit.status, visit.released_at = SUBMITTED, None
    db.session.commit()
    visits.release(visit, chain.hq)
    db.session.commit()

    browser_login(phone, live_server, "m.e001@example.com")
    phone.goto(f"{live_server}/manager/")
    bell = phone.locator("a.bell")
    assert bell.locator(".unread-count").inner_text().startswith("1")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    bell.click()
    assert "Hot alert" in phone.locator("main").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, tmp_path=tmp_path, name="manager-inbox-phone.png")
    page_text = phone.content()
    for secret in SHOPPER_SECRETS:
        assert secret not in page_text
    phone.click("li.notification button[type=submit]")
    phone.wait_for_url(f"{live_server}/manager/visits/{visit.id}")
    assert phone.locator("a.bell .unread-count").count() == 0
