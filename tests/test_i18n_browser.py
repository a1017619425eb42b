"""Chinese pages in a real phone-sized Chromium: CJK text renders, nothing overflows, and the
shopper form's script speaks Chinese (its strings come from the page, not from the script)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from auditapp.demo import DEMO_PASSWORD
from auditapp.extensions import db
from auditapp.models import Store, User, Visit
from auditapp.models.visit import ASSIGNED, RELEASED

from .conftest import browser_login, fits_viewport, screenshot

pytestmark = pytest.mark.browser


def _uses_a_cjk_font(page, selector: str) -> bool:
    """The glyphs of ``selector`` are drawn wider than a missing-glyph box would make them
    narrow: a CJK character is about one em wide in a CJK font."""
    return page.evaluate(
        """sel => { const el = document.querySelector(sel);
                    const c = document.createElement('canvas').getContext('2d');
                    const cs = getComputedStyle(el);
                    c.font = cs.fontSize + ' ' + cs.fontFamily;
                    const w = c.measureText('品牌传递指数').width;
                    return w > parseFloat(cs.fontSize) * 5.5; }""", selector)


def test_chinese_pages_on_a_phone(app, load_dataset, live_server, chromium, tmp_path):
    load_dataset("demo-2-months")
    released = db.session.scalar(
        select(Visit).where(Visit.status == RELEASED, Visit.kind == "mystery",
                            Visit.store_id.is_not(None)).order_by(Visit.id.desc()))
    manager = db.session.scalar(
        select(User).join(User.stores).where(Store.id == released.store_id))
    assigned = db.session.scalar(select(Visit).where(Visit.status == ASSIGNED))
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_login(page, live_server, "hq@example.com", DEMO_PASSWORD)
        page.goto(f"{live_server}/hq/?month=2026-10")
        assert page.locator("h1").inner_text().startswith("品牌传递指数")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert _uses_a_cjk_font(page, "h1")
        assert fits_viewport(page)
        screenshot(page, tmp_path=tmp_path, name="zh-hq-dashboard-phone")
        page.goto(f"{live_server}/auth/logout")  # GET is refused; log out with the button
        page.click("form[action$='/auth/logout'] button")

        browser_login(page, live_server, manager.username, DEMO_PASSWORD)
        page.goto(f"{live_server}/manager/visits/{released.id}")
        assert "服务速度" in page.content()
        assert fits_viewport(page)
        screenshot(page, tmp_path=tmp_path, name="zh-manager-audit-phone")
        # the switch in the header: the same page in English, remembered for the account
        with page.expect_navigation():
            page.click("form[action$='/auth/language/en'] button")
        assert "Speed of service" in page.content()
        assert page.locator("html").get_attribute("lang") == "en"
        assert fits_viewport(page)
        screenshot(page, tmp_path=tmp_path, name="en-manager-audit-phone")
        db.session.expire_all()
        assert db.session.get(User, manager.id).locale == "en"
        page.click("form[action$='/auth/logout'] button")

        page.goto(f"{live_server}/shopper/t/{assigned.access_token}")
        page.click("#checkin-btn")
        page.wait_for_load_state()
        assert page.locator("#step-count").inner_text().startswith("第 1 步")
        page.fill("#order_description", "巨无霸套餐")
        page.locator("#order_description").blur()
        expect(page.locator("#save-state")).to_contain_text("已保存")
        assert fits_viewport(page)
        screenshot(page, tmp_path=tmp_path, name="zh-shopper-form-phone")
    finally:
        context.close()
