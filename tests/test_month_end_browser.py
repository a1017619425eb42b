"""The month-end page (issue #22) on a phone: failed parts are stacked cards, so each
part's Re-run button is on screen without scrolling sideways."""

from __future__ import annotations

import pytest

from auditapp import month_end
from auditapp.extensions import db
from auditapp.models.month_end import KIND_REGION

from .conftest import browser_login, fits_viewport, screenshot
from .test_month_end import MONTH, month_data  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_failed_parts_fit_a_phone(app, client, auth, live_server, phone,
                                  month_data, monkeypatch, tmp_path, locale):  # noqa: F811
    def broken(part, run):
        raise RuntimeError("font missing: /usr/share/fonts/opentype/noto/"
                           "NotoSansCJK-Regular.ttc,NotoSansCJK-Bold.ttc,NotoSerifCJK.ttc")

    monkeypatch.setitem(month_end.BUILDERS, KIND_REGION, broken)
    month_data.hq.locale = locale
    db.session.commit()
    auth.login("hq@example.com")  # the run is built in the request: start it here
    response = client.post("/hq/month-end/start", data={"month": MONTH})
    assert response.status_code == 303
    browser_login(phone, live_server, "hq@example.com")
    phone.goto(f"{live_server}/hq/month-end?month={MONTH}")
    screenshot(phone, f"month-end-failed-phone-{locale}.png", tmp_path)
    assert fits_viewport(phone)
    buttons = phone.locator("#month-end-failed button")
    assert buttons.count() == 2
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    # each cell names its column, the header row is hidden
    assert not phone.locator("#month-end-failed thead").is_visible()
