# ruff: noqa: F811 - the smtp fixture is imported from its test module
"""Issue #18 end to end in a real phone-sized Chromium: HQ hands a visit to a shopper, the
shopper receives the assignment e-mail (from the real SMTP server the test starts), follows
its link, fills in and submits the form; HQ releases it; the store manager sees the unread
count on the bell and the release notice (and gets it by e-mail), with nothing naming the
shopper."""

from __future__ import annotations

import re

import pytest

from auditapp import scheduling, visits
from auditapp.extensions import db
from auditapp.models import Visit

from .conftest import browser_login, fits_viewport, screenshot
from .manager_helpers import SHOPPER_SECRETS
from .shopper_helpers import make_assignment
from .test_notifications import _emails, _parts, smtp  # noqa: F401 (smtp is a fixture)
from .test_shopper_browser import VALUES, answer_step, fill_facts

pytestmark = pytest.mark.browser


def test_assignment_email_to_submission_to_release_notice(app, live_server, phone, chain,
                                                          smtp, tmp_path):
    app.config["BASE_URL"] = live_server  # links in e-mails point at the running app
    _emails(chain)
    alice, manager = chain.shoppers[0], chain.managers[1]  # store E002
    visit = make_assignment(chain, store=chain.stores[1], shopper=chain.shoppers[1],
                            visit_type="walk_in")
    scheduling.reassign(visit, alice, chain.hq.id)  # HQ issues it to alice
    db.session.commit()

    # the shopper's e-mail, as the SMTP server received it
    [mail] = smtp.to(alice.email)
    text, html = _parts(mail)
    assert "New assignment" in mail["Subject"] and "Hangzhou Lake" in mail["Subject"]
    link = re.search(r"https?://\S+/shopper/t/\S+", text).group(0)
    assert f'href="{link}"' in html

    # she follows the link on her phone (no login: the link is the key) and submits
    phone.goto(link)
    assert "Hangzhou Lake" in phone.inner_text("main")
    phone.uncheck("#share-location")
    phone.click("#checkin-btn")
    phone.wait_for_selector("#checkin-form", state="hidden")
    fill_facts(phone)
    phone.click("#next-btn")
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    phone.fill(f"#v_{timed.id}", "120")
    answer_step(phone, visit, VALUES)
    for _ in range(4):
        phone.click("#next-btn")
        answer_step(phone, visit, VALUES)
    phone.click("#next-btn")
    phone.click("#submit-btn")
    phone.wait_for_url("**sent=1")
    assert phone.locator("#confirmation").is_visible()
    screenshot(phone, tmp_path=tmp_path, name="shopper-submitted-from-email.png")
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted" and not stored.submitted_late

    # HQ releases it
    visits.release(stored, chain.hq)
    db.session.commit()

    # the store manager: an e-mail, the unread count on the bell, the notice in the inbox
    [notice] = smtp.to(manager.email)
    assert "Audit released" in notice["Subject"]
    phone.context.clear_cookies()
    browser_login(phone, live_server, manager.username)
    phone.goto(f"{live_server}/manager/")
    bell = phone.locator("a.bell")
    assert bell.locator(".unread-count").inner_text().startswith("1")
    bell.click()
    main = phone.inner_text("main")
    assert "Audit released: Hangzhou Lake" in main
    assert fits_viewport(phone)
    screenshot(phone, tmp_path=tmp_path, name="manager-release-notice-phone.png")
    page = phone.content()
    for secret in SHOPPER_SECRETS:
        assert secret not in page
    for part in (*_parts(notice), notice["Subject"]):
        for secret in SHOPPER_SECRETS:
            assert secret not in part
    phone.click("li.notification button[type=submit]")
    phone.wait_for_url(f"{live_server}/manager/visits/{visit.id}")
    assert phone.locator("a.bell .unread-count").count() == 0
