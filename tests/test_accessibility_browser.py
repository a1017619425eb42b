"""WCAG 2.2 AA in a real phone-sized Chromium (issue #23).

- axe-core (the npm package in tests/js, ``npm ci --prefix tests/js``) on every main page of
  every role, in English and in Chinese: no serious or critical violation;
- the keyboard rules of the shopper's step form: focus is never hidden under the sticky bars,
  and it moves to where the shopper has to go next (the new step, the first error, the
  form after check-in, the timer's other button);
- reflow: at 320 px wide with the text at 200 % no page scrolls sideways.

axe is injected from a same-origin URL that Playwright answers itself, so the pages keep
their strict Content-Security-Policy (``script-src 'self'``) while they are tested.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from auditapp.demo import DEMO_PASSWORD
from auditapp.extensions import db
from auditapp.models import User, Visit
from auditapp.models.visit import ASSIGNED

from .conftest import PHONE, browser_login, fits_viewport, screenshot
from .test_i18n import _pages, demo  # noqa: F401  (the demo chain fixture)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test-tools/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _new_page(chromium, live_server: str, language: str, **options):
    if not AXE.exists():
        pytest.skip("axe-core missing: run `npm ci --prefix tests/js` (scripts/setup.sh does)")
    context = chromium.new_context(
        **{**PHONE, **options}, locale=language,
        extra_http_headers={"Accept-Language": language})
    context.route(f"{live_server}{AXE_PATH}", lambda route: route.fulfill(
        path=str(AXE), content_type="application/javascript"))
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def axe_violations(page, live_server: str) -> list[str]:
    """The serious and critical axe violations of the page, one line per rule."""
    page.add_script_tag(url=f"{live_server}{AXE_PATH}")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def _login(page, live_server: str, username: str | None) -> None:
    if username:
        browser_login(page, live_server, username, DEMO_PASSWORD)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_main_page_passes_axe(app, demo, live_server, chromium, language):  # noqa: F811
    failures: dict[str, list[str]] = {}
    for username, urls in _pages().items():
        page = _new_page(chromium, live_server, language)
        try:
            _login(page, live_server, username)
            for url in urls:
                page.goto(f"{live_server}{url}")
                found = axe_violations(page, live_server)
                if found:
                    failures[f"{username} {url}"] = found
        finally:
            page.context.close()
    assert not failures, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in failures.items())
