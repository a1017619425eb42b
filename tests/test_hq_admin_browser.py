"""HQ administration pages in a real Chromium, on a desktop and on a phone: stores list,
CSV import error report, questionnaire editor, scheduling page."""

from __future__ import annotations

import pytest

from auditapp import scheduling
from auditapp.extensions import db
from auditapp.questionnaires import copy_as_new_version

from .conftest import browser_login, fits_viewport, screenshot

pytestmark = pytest.mark.browser

BAD_CSV = (
    "code,name,address,city,region_code,timezone,has_drive_thru,latitude,longitude\n"
    "E100,苏州观前街店,观前街 1 号,苏州,EAST,Asia/Shanghai,yes,31.3,120.6\n"
    "E101,,2 Road,Shanghai,NOWHERE,Asia/Shanghai,no,,\n"
    "E102,Bad zone,3 Road,Shanghai,EAST,Europe/Atlantis,maybe,91,abc\n"
)



@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_hq_admin_pages(request, live_server, chain, tmp_path, device):
    page = request.getfixturevalue(device)
    assert page.viewport_size["width"] == (1366 if device == "desktop" else 390)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    draft = copy_as_new_version(chain.ms_q, 2)
    db.session.add(draft)
    db.session.commit()
    scheduling.generate_month("2026-06")
    db.session.commit()
    draft_id = draft.id

    browser_login(page, live_server, "hq@example.com")
    page.click("nav.nav >> text=Stores")
    assert page.locator("h1").inner_text() == "Stores"
    assert "上海南京西路店" in page.content()
    assert fits_viewport(page)
    screenshot(page, tmp_path=tmp_path, name=f"hq-stores-{device}")

    page.click("text=Import CSV")
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text(BAD_CSV, encoding="utf-8")
    page.set_input_files("input[type=file]", str(csv_path))
    page.click("form [type=submit][value=Import]")
    page.wait_for_load_state()
    assert page.locator(".import-errors h2").inner_text() == "Nothing was imported"
    assert page.locator("#import-errors tbody tr").count() == 6
    assert fits_viewport(page)
    screenshot(page, tmp_path=tmp_path, name=f"hq-import-errors-{device}")

    page.goto(f"{live_server}/hq/questionnaires/{draft_id}")
    assert page.locator("text=Publish this version").is_visible()
    assert fits_viewport(page)
    screenshot(page, tmp_path=tmp_path, name=f"hq-questionnaire-editor-{device}")

    page.click(".item-actions >> text=Edit >> nth=0")
    assert page.locator("input[name=t_drive_thru]").input_value() == "180.0"
    page.fill("input[name=l_walk_in]", "60")
    page.click("[type=submit][value='Save item']")
    assert "The limit L must be greater than the target T" in page.content()
    assert fits_viewport(page)
    screenshot(page, tmp_path=tmp_path, name=f"hq-questionnaire-item-{device}")
    page.select_option("select[name=item_type]", "yesno")
    assert not page.locator("fieldset.timed-targets").is_visible()
    page.select_option("select[name=item_type]", "timed")
    assert page.locator("fieldset.timed-targets").is_visible()

    page.click("nav.nav >> text=Settings")
    page.fill("input[name=quick_factor]", "1.5")
    page.click("[type=submit][value='Save settings']")
    assert "The factor must be between 0 and 1." in page.content()
    assert fits_viewport(page)
    screenshot(page, tmp_path=tmp_path, name=f"hq-settings-{device}")

    page.click("nav.nav >> text=Scheduling")
    page.goto(f"{live_server}/hq/scheduling?month=2026-06")
    assert page.locator("#assignments tbody tr").count() == 4
    assert "/shopper/t/" in page.input_value(".link-input >> nth=0")
    assert fits_viewport(page)
    screenshot(page, tmp_path=tmp_path, name=f"hq-scheduling-{device}")
    assert not errors, errors
