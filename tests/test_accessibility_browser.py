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
from auditapp.models import Visit
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
    # resultTypes: axe still checks every node, but fills in passes and the like with one
    # node each instead of all of them (half the time on our pages)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", WCAG_TAGS)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.markup_only
def test_axe_reports_what_it_should(app, live_server, chromium):
    """The check itself can fail: a page with an unlabelled image and button has both."""
    page = _new_page(chromium, live_server, "en")
    bad = f"{live_server}/__test-tools/bad.html"
    page.context.route(bad, lambda route: route.fulfill(content_type="text/html", body=(
        "<!doctype html><html lang=en><title>Bad</title><main>"
        "<img src='/static/app.css'><button></button></main></html>")))
    try:
        page.goto(bad)
        found = axe_violations(page, live_server)
    finally:
        page.context.close()
    assert any(f.startswith("image-alt (critical)") for f in found), found
    assert any(f.startswith("button-name (critical)") for f in found), found


def _login(page, live_server: str, username: str | None) -> None:
    if username:
        browser_login(page, live_server, username, DEMO_PASSWORD)


@pytest.mark.markup_only
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


# --- the keyboard: focus goes where the shopper goes next, and is never hidden ------------

#: The focused element is not covered by the sticky form bar (for an option's hidden radio,
#: its visible box, the label, counts).
FOCUS_CLEAR = """() => {
  let el = document.activeElement;
  if (el.matches('.seg input, .scale input')) el = el.closest('label');
  const r = el.getBoundingClientRect(), bar = document.querySelector('.formbar');
  if (bar.contains(el)) return true;
  return r.top >= 0 && r.bottom <= bar.getBoundingClientRect().top + 1;
}"""


def active(page, prop: str = "id") -> str:
    return page.evaluate(f"document.activeElement.{prop} || ''")


def tab_through_step(page) -> int:
    """Tab from the current step's title to the form bar; every stop in view. Returns stops."""
    stops = 0
    while True:
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('.formbar')"):
            return stops
        stops += 1
        hidden = active(page, "outerHTML")[:120]
        assert page.evaluate(FOCUS_CLEAR), f"focus hidden under the form bar: {hidden}"
        assert stops < 80


def test_step_form_moves_focus_and_keeps_it_in_view(app, live_server, phone, chain):
    from .shopper_helpers import make_assignment

    visit = make_assignment(chain)
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    phone.uncheck("#share-location")
    # check-in: focus goes to the first step's title (not <body>)
    phone.focus("#checkin-btn")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#checkin-form", state="hidden")
    phone.wait_for_function("() => document.activeElement.matches('#step-facts .step-title')")

    # Enter in a field neither sends the form nor leaves the step
    phone.fill("#receipt_total", "12.50")
    phone.keyboard.press("Enter")
    phone.wait_for_timeout(300)  # (a navigation would have started by now)
    assert phone.locator("#step-facts").is_visible()
    assert phone.evaluate("document.activeElement.id") == "receipt_total"

    # every stop of a step is clear of the sticky bar; Next puts focus on the new step
    phone.focus("#step-facts .step-title")
    tab_through_step(phone)
    phone.focus("#next-btn")
    phone.keyboard.press("Enter")
    assert phone.evaluate("document.activeElement.matches('.step.current .step-title')")
    assert "Step 2" in phone.inner_text("#step-count")
    phone.keyboard.press("Tab")
    assert phone.evaluate("!!document.activeElement.closest('.step.current')")
    phone.focus(".step.current .step-title")
    assert tab_through_step(phone) > 5

    # the timer: Start → focus on Stop and "running" announced; Stop → the seconds announced
    box = phone.locator(f"#item-{timed.id}")
    status = box.locator("[data-timer-status]")
    assert status.get_attribute("aria-live") == "polite"
    box.locator("[data-start]").focus()
    phone.keyboard.press("Enter")
    assert phone.evaluate("document.activeElement.hasAttribute('data-stop')")
    assert status.inner_text() == "Timer running"
    phone.keyboard.press("Enter")
    assert phone.evaluate("document.activeElement.hasAttribute('data-start')")
    seconds = phone.input_value(f"#v_{timed.id}")
    assert status.inner_text() == f"Recorded {seconds} seconds"
    # "Target … s" is the seconds input's description
    target = phone.get_attribute(f"#v_{timed.id}", "aria-describedby")
    assert phone.inner_text(f"#{target}").startswith("Target ")

    # to the last step: focus on its title
    while not phone.locator("#step-final").is_visible():
        phone.focus("#next-btn")
        phone.keyboard.press("Enter")
    assert phone.evaluate("document.activeElement.matches('#step-final .step-title')")
    # the photo picker shows where the focus is
    phone.focus("#photos")
    outline = phone.evaluate(
        "getComputedStyle(document.querySelector('.file-btn[for=photos]')).outlineStyle")
    assert outline == "solid"

    # a failed submit: the summary takes focus, names each question and links to it; each
    # failing question is aria-invalid and described by its own error
    phone.focus("#submit-btn")
    phone.keyboard.press("Enter")
    phone.wait_for_function("() => document.activeElement.id === 'error-summary'")
    links = phone.locator("#error-summary a")
    assert links.count() > 3
    first_item = next(i for i in visit.questionnaire.items if i.item_type != "timed")
    text = phone.inner_text("#error-summary")
    assert first_item.text in text
    for fs in phone.locator("fieldset.has-error").all():
        assert fs.get_attribute("aria-invalid") == "true"
        err = fs.get_attribute("aria-describedby")
        assert phone.locator(f"#{err}").inner_text()
    href = links.first.get_attribute("href")
    links.first.focus()
    phone.keyboard.press("Enter")
    assert phone.evaluate(f"!!document.activeElement.closest('{href}')")
    assert phone.evaluate(FOCUS_CLEAR)
    # the form with its errors shown passes axe too
    if AXE.exists():
        phone.context.route(f"{live_server}{AXE_PATH}", lambda route: route.fulfill(
            path=str(AXE), content_type="application/javascript"))
        assert not axe_violations(phone, live_server)


# --- reflow: 320 px wide, text at 200 % --------------------------------------------------

TEXT_200 = "/__test-tools/text-200.css"


@pytest.mark.markup_only
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_pages_reflow_at_320px_with_text_at_200_percent(
        app, demo, live_server, chromium, tmp_path, language):  # noqa: F811
    """No page scrolls sideways at 320 px with the text doubled (the root font size, which
    every size is set in), and the shopper form's sticky bar keeps most of the screen."""
    wide: list[str] = []
    assigned = db.session.scalar(select(Visit).where(Visit.status == ASSIGNED))
    for username, urls in _pages().items():
        page = _new_page(chromium, live_server, language,
                         viewport={"width": 320, "height": 640})
        page.context.route(f"{live_server}{TEXT_200}", lambda route: route.fulfill(
            body="html { font-size: 200% !important; }", content_type="text/css"))
        try:
            _login(page, live_server, username)
            for url in urls:
                page.goto(f"{live_server}{url}")
                if not fits_viewport(page):
                    wide.append(f"{username} {url} (100 %): "
                                f"{page.evaluate('document.documentElement.scrollWidth')} px")
                page.evaluate(
                    "href => new Promise(ok => { const l = document.createElement('link');"
                    " l.rel = 'stylesheet'; l.href = href; l.onload = ok;"
                    " document.head.appendChild(l); })", TEXT_200)
                assert page.evaluate(
                    "parseFloat(getComputedStyle(document.body).fontSize)") == 32, url
                if not fits_viewport(page):
                    wide.append(f"{username} {url} (200 %): "
                                f"{page.evaluate('document.documentElement.scrollWidth')} px")
                if url == f"/shopper/visits/{assigned.id}":
                    page.click("#checkin-btn")
                    page.wait_for_selector("#checkin-form", state="hidden")
                    bar = page.evaluate(
                        "document.querySelector('.formbar').getBoundingClientRect().height")
                    assert bar <= 0.35 * 640, bar
                    screenshot(page, f"reflow-{language}-shopper-form", tmp_path)
        finally:
            page.context.close()
    assert not wide, "\n".join(wide)


