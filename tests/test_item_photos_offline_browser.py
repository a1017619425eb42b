"""Per-item photos (issue #17) through the offline field app (issue #19), in a real
phone-sized Chromium: with no network, a question that needs a photo when it fails is
answered "No", a 12 MB camera photo is attached to it (shrunk on the phone, kept in
IndexedDB, shown waiting under its question, a second one removed again), the photo
question gets its photo, the report is submitted offline; back online, exactly one
submission arrives, after its photos, each stored with its item."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import Photo, User, Visit, VisitEvent
from auditapp.questionnaires import build_questionnaire

from .conftest import browser_login
from .shopper_helpers import make_assignment
from .test_offline_browser import (  # noqa: F401
    big_camera_photo,
    count_submits,
    launch,
    server,
    shot,
    small_photo,
    wait_cached,
)
from .test_shopper_browser import fill_facts

pytestmark = pytest.mark.browser

ITEMS = {
    "speed": [("t_speed", "scale7", "Quick?", "快吗？", 1.0, False, False)],
    "courtesy": [("t_smile", "scale7", "Friendly?", "友好吗？", 1.0, False, False)],
    "quality": [("t_taste", "scale7", "Tasty?", "好吃吗？", 1.0, False, False)],
    "accuracy": [("t_ok", "yesno", "Order correct?", "订单正确吗？", 1.0, False, False,
                  {"require_comment": True, "require_photo": True})],
    "cleanliness": [("t_photo", "photo", "Photo of the counter", "柜台照片", 1.0, False, False),
                    ("t_clean", "scale7", "Clean?", "干净吗？", 1.0, False, False)],
}


def rate(page) -> None:
    """"Good" (30) on every seven-level question of the step shown."""
    for box in page.locator("fieldset[data-type=scale7]:visible").all():
        box.locator("input[value='30'] + span").click()


def waiting(page, item_id: int, n: int) -> None:
    """``n`` photos wait under the question (shrinking a 12 MB photo takes a moment)."""
    expect(page.locator(f"#thumbs-{item_id} li.photo-pending")).to_have_count(n, timeout=90_000)


def item_photo_visit(chain) -> tuple[Visit, dict[str, int]]:
    """A walk-in assignment on the questionnaire above, and its items' ids by code."""
    q = build_questionnaire("IPH", "Item photos", "mystery", ITEMS)
    db.session.add(q)
    db.session.flush()
    visit = make_assignment(chain, visit_type="walk_in")
    visit.questionnaire = q
    db.session.commit()
    return visit, {i.code: i.id for i in q.items}


def start_and_answer_to_accuracy(page) -> None:
    """On the open form: check in (no location), fill in the facts, rate speed and courtesy
    and go on to the order-accuracy step."""
    page.uncheck("#share-location")
    page.click("#checkin-btn")
    page.wait_for_selector("#checkin-form", state="hidden")
    fill_facts(page)
    for _ in range(3):  # speed, courtesy: rated; then accuracy
        page.click("#next-btn")
        rate(page)


def fail_with_comment(page, item_id: int) -> None:
    """"No" on the yes/no question (it then needs a comment and a photo), with a comment."""
    box = page.locator(f"#item-{item_id}")
    box.locator("input[value='0'] + span").click()
    box.locator("details.comment summary").click()
    box.locator(f"textarea[name=c_{item_id}]").fill("The cola was missing")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_failed_answers_photo_taken_offline_arrives_shrunk_before_the_report(
        server, chromium, chain, tmp_path, lang):  # noqa: F811
    if lang == "zh":
        db.session.get(User, chain.shoppers[0].id).locale = "zh_CN"
    visit, items = item_photo_visit(chain)
    ok, counter = items["t_ok"], items["t_photo"]
    big = tmp_path / "IMG_0002.jpg"
    assert big_camera_photo(big) > 10 * 1024 * 1024
    form_path = f"/shopper/visits/{visit.id}"

    ctx, page = launch(chromium, tmp_path / "profile")
    try:
        browser_login(page, server.url, "MS-101")  # the list: the worker keeps the form
        wait_cached(page, form_path)
        server.down()
        ctx.set_offline(True)
        page.goto(server.url + form_path)
        page.wait_for_selector("#audit-form")
        start_and_answer_to_accuracy(page)
        fail_with_comment(page, ok)
        page.set_input_files(f"#p_{ok}", files=[str(big)])
        waiting(page, ok, 1)
        page.set_input_files(f"#p_{ok}", files=[{"name": "oops.jpg", "mimeType": "image/jpeg",
                                                 "buffer": small_photo()}])
        waiting(page, ok, 2)
        page.locator(f"#thumbs-{ok} li.photo-pending").nth(1).locator(".photo-rm").click()
        waiting(page, ok, 1)
        shot(page, lang, "failed-answer-photo-waiting", tmp_path)
        page.click("#next-btn")  # quality
        rate(page)
        page.click("#next-btn")  # cleanliness
        page.set_input_files(f"#p_{counter}", files=[{"name": "counter.jpg",
                                                      "mimeType": "image/jpeg",
                                                      "buffer": small_photo()}])
        waiting(page, counter, 1)
        rate(page)
        expect(page.locator("#thumbs li")).to_have_count(0)  # not among the visit's photos

        page.reload()  # still offline: the photos wait on the phone, each under its question
        page.wait_for_selector("#audit-form")
        waiting(page, ok, 1)
        waiting(page, counter, 1)
        shot(page, lang, "photo-question-waiting", tmp_path)
        for _ in range(3):
            if page.locator("#step-final").is_visible():
                break
            page.click("#next-btn")
        page.click("#submit-btn")
        page.wait_for_selector("#save-state.queued")
        db.session.expire_all()
        assert db.session.get(Visit, visit.id).status == "assigned"
        assert db.session.scalar(select(func.count()).select_from(Photo)
                                 .where(Photo.visit_id == visit.id)) == 0

        server.up()  # back online: photos first, then the report (it needs the photo)
        ctx.set_offline(False)
        page.wait_for_url("**sent=1", timeout=60_000)
    finally:
        ctx.close()

    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted"
    assert count_submits(visit.id) == 1
    by_item = sorted((p.item_id, p.width, p.height) for p in stored.photos)
    assert by_item == sorted([(ok, 1200, 1600), (counter, 800, 600)])  # shrunk, upright
    answer = stored.answer_for(ok)
    assert answer.value == 0 and answer.comment == "The cola was missing"
    events = db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)).all()
    arrived = [e.data["what"] for e in sorted(events, key=lambda e: e.id) if e.kind == "queued"]
    assert arrived == ["checkin", "photo", "photo", "submit"]


def test_a_report_submitted_while_its_required_photo_is_being_shrunk_waits_for_it(
        live_server, phone, chain, tmp_path):
    """Online, a 12 MB photo is attached to the failed answer and Submit tapped at once: the
    report waits for the photo (shrunk, sent), and is accepted the first time."""
    visit, items = item_photo_visit(chain)
    ok, counter = items["t_ok"], items["t_photo"]
    big = tmp_path / "IMG_0003.jpg"
    big_camera_photo(big)

    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    start_and_answer_to_accuracy(phone)
    fail_with_comment(phone, ok)
    phone.click("#next-btn")
    rate(phone)
    phone.click("#next-btn")
    phone.set_input_files(f"#p_{counter}", files=[{"name": "counter.jpg",
                                                   "mimeType": "image/jpeg",
                                                   "buffer": small_photo()}])
    expect(phone.locator(f"#thumbs-{counter} li.photo-sent")).to_have_count(1)
    rate(phone)
    phone.click("#next-btn")
    phone.set_input_files(f"#p_{ok}", files=[str(big)])  # (the photo of step 4) …
    phone.click("#submit-btn")  # … and Submit before it is shrunk
    phone.wait_for_url("**sent=1", timeout=60_000)

    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "submitted" and count_submits(visit.id) == 1
    assert sorted((p.item_id, p.width) for p in stored.photos) == sorted([(ok, 1200),
                                                                           (counter, 800)])


#: A phone whose storage is full: IndexedDB refuses to keep a photo, as Chromium does when the
#: site's quota is used up (window.fullPhone switches it on and off).
FULL_PHONE = """
window.fullPhone = false;
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (value) {
  if (window.fullPhone && value && value.kind === "photo")
    throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
  return put.apply(this, arguments);
};
"""


NOT_KEPT = {
    "en": "This photo could not be kept on the phone (QuotaExceededError). Free some space on "
          "the phone and add it again.",
    "zh": "这张照片未能保存到手机上（QuotaExceededError）。请清理手机存储空间后重新添加。"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_photo_the_phone_cannot_keep_is_said_under_its_question(live_server, phone, chain,
                                                                   tmp_path, lang):
    """The phone's storage is full: the photo of a failed answer cannot be kept in the
    outbox. The shopper reads why under the question, instead of a photo that silently
    never appears; with room again, the same photo is kept and sent."""
    if lang == "zh":
        db.session.get(User, chain.shoppers[0].id).locale = "zh_CN"
    visit, items = item_photo_visit(chain)
    ok = items["t_ok"]
    phone.add_init_script(FULL_PHONE)
    browser_login(phone, live_server, "MS-101")
    phone.goto(f"{live_server}/shopper/visits/{visit.id}")
    start_and_answer_to_accuracy(phone)
    fail_with_comment(phone, ok)

    phone.evaluate("window.fullPhone = true")
    photo = {"name": "cola.jpg", "mimeType": "image/jpeg", "buffer": small_photo()}
    phone.set_input_files(f"#p_{ok}", files=[photo])
    expect(phone.locator(f"#photo-error-{ok}")).to_have_text(NOT_KEPT[lang])
    expect(phone.locator(f"#thumbs-{ok} li")).to_have_count(0)
    shot(phone, lang, "photo-not-kept", tmp_path)
    assert phone.locator("#photo-error").inner_text() == ""  # said where it belongs

    phone.evaluate("window.fullPhone = false")  # room again
    phone.set_input_files(f"#p_{ok}", files=[photo])
    expect(phone.locator(f"#thumbs-{ok} li.photo-sent")).to_have_count(1)
    expect(phone.locator(f"#photo-error-{ok}")).to_have_text("")
    db.session.expire_all()
    assert [p.item_id for p in db.session.get(Visit, visit.id).photos] == [ok]
