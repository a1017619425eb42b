"""The manager's portal on a phone (390×844) in a real Chromium: My stores and the audit
detail fit the screen, and a dispute can be filed from the page."""

from __future__ import annotations

import os
from datetime import date

import pytest

from auditapp.extensions import db
from auditapp.models import Dispute

from .conftest import SHOTS, browser_login, screenshot
from .factories import make_visit
from .manager_helpers import SHOPPER_SECRETS, add_photo, answer, png_bytes, released_visit

pytestmark = pytest.mark.browser


def test_manager_pages_on_a_phone(live_server, phone, chain, tmp_path):
    store = chain.stores[0]
    for month in range(1, 5):
        make_visit(chain, store, visit_date=date(2026, month, 12),
                   values={"courtesy_thanks": month % 2, "speed_total": 100 + 40 * month})
    make_visit(chain, chain.stores[1], visit_date=date(2026, 5, 3))
    visit = released_visit(chain, store)
    add_photo(visit, answer(visit, "clean_restroom").item)
    add_photo(visit)

    browser_login(phone, live_server, "m.e001@example.com")
    phone.goto(f"{live_server}/manager/?month=2026-05")
    assert phone.locator("svg.chart polyline").count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, tmp_path=tmp_path, name="manager-stores-phone.png")

    phone.goto(f"{live_server}/manager/visits/{visit.id}")
    assert phone.locator(".critical-box").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    for secret in SHOPPER_SECRETS:
        assert secret not in phone.content()
    # photos (lazy-loaded thumbnails) load once scrolled to
    for img in phone.locator(".thumbs img").all():
        img.scroll_into_view_if_needed()
    phone.wait_for_load_state("networkidle")
    assert phone.evaluate(
        "[...document.querySelectorAll('.thumbs img')].every(i => i.complete && i.naturalWidth)"
    )
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, tmp_path=tmp_path, name="manager-visit-phone.png")

    # file a dispute from the page, with a photo as evidence (no JavaScript needed)
    restroom = answer(visit, "clean_restroom")
    evidence = tmp_path / "proof.png"
    evidence.write_bytes(png_bytes())
    item = phone.locator(f"#item-{restroom.id}")
    item.locator("summary", has_text="Dispute this result").click()
    item.locator(f"#d{restroom.id}-reason").fill(
        "Restroom checklist shows it was cleaned at 12:00."
    )
    item.locator("input[type=file]").set_input_files(str(evidence))
    item.locator("button", has_text="Send dispute to HQ").click()
    phone.wait_for_load_state()
    assert phone.locator(".flash-success").is_visible()
    assert "waiting for HQ" in phone.locator(f"#item-{restroom.id}").inner_text()
    screenshot(phone, tmp_path=tmp_path, name="manager-visit-disputed-phone.png")

    # a corrective action sent without an owner comes back open, with the message and text
    item = phone.locator(f"#item-{restroom.id}")
    item.locator("summary", has_text="Record a corrective action").click()
    item.locator(f"#a{restroom.id}-action").fill("Check soap every hour")
    item.locator("button", has_text="Save action").click()
    phone.wait_for_load_state()
    item = phone.locator(f"#item-{restroom.id}")
    assert item.locator(".error", has_text="Name who is responsible.").is_visible()
    assert item.locator(f"#a{restroom.id}-action").input_value() == "Check soap every hour"
    item.scroll_into_view_if_needed()
    phone.screenshot(path=str(tmp_path / "action-error.png"))
    if SHOTS:
        phone.screenshot(path=os.path.join(SHOTS, "manager-action-error-phone.png"))
    db.session.expire_all()
    assert db.session.scalars(db.select(Dispute)).one().evidence_keys


def test_hq_disputes_and_actions_on_desktop(live_server, desktop, chain, tmp_path, client, auth):
    visit = released_visit(chain)
    auth.login("m.e001@example.com")
    from .manager_helpers import add_action, file_dispute

    file_dispute(client, visit, answer(visit, "clean_restroom"), evidence=png_bytes())
    add_action(client, visit, answer(visit, "courtesy_thanks"), due="2026-01-01")
    browser_login(desktop, live_server, "hq@example.com")
    desktop.goto(f"{live_server}/hq/disputes")
    screenshot(desktop, tmp_path=tmp_path, name="hq-disputes-desktop.png")
    desktop.check("input[value=uphold]")
    desktop.fill("textarea", "Checklist confirms it.")
    desktop.click("text=Save decision")
    desktop.wait_for_load_state()
    assert "re-scored" in desktop.locator(".flash-success").inner_text()
    desktop.goto(f"{live_server}/hq/actions")
    assert desktop.locator(".pill.overdue").count() >= 1
    screenshot(desktop, tmp_path=tmp_path, name="hq-actions-desktop.png")
