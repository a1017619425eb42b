"""The HQ console in a real Chromium, on the seeded demo chain: desktop and phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auditapp.demo import DEMO_PASSWORD
from auditapp.extensions import db
from auditapp.models import Store, Visit
from auditapp.models.visit import SUBMITTED

from .conftest import browser_login, fits_viewport, screenshot

pytestmark = pytest.mark.browser


def test_hq_console_on_desktop_and_phone(app, load_dataset, live_server, desktop, phone,
                                         tmp_path):
    load_dataset("demo-3-months")
    store = db.session.scalar(select(Store).where(Store.code == "E001"))
    waiting = db.session.scalar(select(Visit).where(Visit.status == SUBMITTED))
    for page, size in ((desktop, "desktop"), (phone, "phone")):
        browser_login(page, live_server, "hq@example.com", DEMO_PASSWORD)
        page.goto(f"{live_server}/hq/?month=2026-10")
        assert page.locator("h1").inner_text().startswith("Brand Delivery Index")
        # the demo leaves four visits awaiting review (three flagged, docs/INTEGRITY.md)
        assert page.locator("#unreviewed .big").inner_text() == "4"
        assert page.locator("svg.line-chart").is_visible()
        assert page.locator("svg.bar-chart").is_visible()
        assert fits_viewport(page), f"dashboard wider than the {size} screen"
        screenshot(page, tmp_path=tmp_path, name=f"hq-dashboard-{size}")

        # the region filter submits itself (hq.js) and keeps the month
        with page.expect_navigation():
            page.select_option("#region-filter", label="华北区")
        assert "region=" in page.url and "month=2026-10" in page.url
        assert page.locator("table.ranking tbody tr").count() == 12

        page.goto(f"{live_server}/hq/stores/{store.id}?month=2026-10")
        assert "上海南京西路店" in page.locator("h1").inner_text()
        assert fits_viewport(page)
        screenshot(page, tmp_path=tmp_path, name=f"hq-store-{size}")

        page.goto(f"{live_server}/hq/visits/{waiting.id}")
        assert page.locator("text=Return to evaluator").is_visible()
        assert fits_viewport(page)
        screenshot(page, tmp_path=tmp_path, name=f"hq-visit-{size}")

        page.goto(f"{live_server}/hq/complaints?month=2026-10")
        screenshot(page, tmp_path=tmp_path, name=f"hq-complaints-{size}")
        page.goto(f"{live_server}/hq/competitors?month=2026-10")
        assert page.locator("table.bench").is_visible()
        screenshot(page, tmp_path=tmp_path, name=f"hq-competitors-{size}")

    # release the waiting visit from the phone
    phone.goto(f"{live_server}/hq/visits/{waiting.id}")
    phone.click("button:has-text('Release')")
    phone.wait_for_load_state()
    assert "/hq/review" in phone.url
    assert phone.locator(".flash-success").is_visible()
