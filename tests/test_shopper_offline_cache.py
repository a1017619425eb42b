"""What the shopper's service worker keeps on the phone: the list of assignments and the
audit forms that can still be filled in (signed in or from a link), and nothing else; a
form is dropped once the server stops serving it, everything once the shopper is sent to
the login page. (Forms kept ahead from the list: test_offline_browser.py.)
(The form opening offline: test_shopper_browser.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Error as PlaywrightError

from auditapp.extensions import db
from auditapp.models import Visit, utcnow

from .conftest import browser_login
from .shopper_helpers import make_assignment

pytestmark = pytest.mark.browser

CACHED_PATHS = """async () => {
  const paths = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) {
      const url = new URL(req.url);
      if (!url.pathname.startsWith('/static/')) paths.push(url.pathname + url.search);
    }
  }
  return paths.sort();
}"""


def cached_pages(page) -> list[str]:
    return page.evaluate(CACHED_PATHS)


def wait_cached(page, expected: list[str]) -> None:
    """Wait until the worker's caches hold exactly these pages (it writes after answering)."""
    # (polled from here: wait_for_function takes a returned promise for a true value)
    for _ in range(100):
        if cached_pages(page) == sorted(expected):
            return
        page.wait_for_timeout(100)


def controlled(page, url: str) -> None:
    """Open ``url`` with the service worker in control (registered by the form page)."""
    page.goto(url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def test_only_editable_forms_are_kept(live_server, phone, chain):
    signed_in = make_assignment(chain)
    linked = make_assignment(chain, store=chain.stores[1])
    form_path, link_path = f"/shopper/visits/{signed_in.id}", f"/shopper/t/{linked.access_token}"

    browser_login(phone, live_server, "MS-101")
    controlled(phone, live_server + form_path)
    # the list of visits (kept, with its open forms), a page with a query (not kept) and
    # the link form, all online
    phone.goto(f"{live_server}/shopper/")
    phone.goto(f"{live_server}{form_path}?sent=1")
    phone.goto(live_server + link_path)
    phone.wait_for_selector("#audit-form")
    phone.goto(live_server + form_path)
    phone.wait_for_selector("#audit-form")
    # (the linked visit is this shopper's too: the list kept its signed-in form ahead)
    ahead = f"/shopper/visits/{linked.id}"
    wait_cached(phone, ["/shopper/", form_path, link_path, ahead])
    assert cached_pages(phone) == sorted(["/shopper/", form_path, link_path, ahead])

    # the link expires: its stored form goes the next time the server says so
    db.session.get(Visit, linked.id).token_expires_at = utcnow() - timedelta(minutes=1)
    # the signed-in visit is submitted elsewhere: the read-only copy is not kept
    db.session.get(Visit, signed_in.id).status = "submitted"
    db.session.commit()
    assert phone.goto(live_server + link_path).status == 404
    phone.goto(live_server + form_path)
    wait_cached(phone, ["/shopper/", ahead])
    assert cached_pages(phone) == ["/shopper/", ahead]


def test_logging_out_forgets_the_stored_forms(live_server, phone, chain):
    visit = make_assignment(chain)
    form_path = f"/shopper/visits/{visit.id}"
    browser_login(phone, live_server, "MS-101")
    controlled(phone, live_server + form_path)
    wait_cached(phone, [form_path])

    phone.click("form[action='/auth/logout'] [type=submit]")
    phone.wait_for_url("**/auth/login")
    # the next time the phone asks for a shopper page, the server sends it to the login
    phone.goto(live_server + form_path)
    phone.wait_for_url("**/auth/login**")
    wait_cached(phone, [])
    # and offline there is nothing to show
    phone.context.set_offline(True)
    with pytest.raises(PlaywrightError):
        phone.goto(live_server + form_path)
    phone.context.set_offline(False)
