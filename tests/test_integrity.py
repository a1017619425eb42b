"""Paradata, photo metadata and soft flags (issue #15 items 2 and 3), through HTTP: the
shopper's form and API record how a visit was filled in, the submission raises flags
with plain-language reasons, HQ's review queue is ordered by risk and filtered by flag."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, time, timedelta
from io import BytesIO

import pytest
from flask_babel import refresh
from PIL import Image
from sqlalchemy import select, update  # noqa: F401

from auditapp import integrity
from auditapp.extensions import db
from auditapp.models import Photo, PhotoMeta, Visit, VisitEvent, VisitFlag

from .shopper_helpers import full_payload, make_assignment

#: Store E001 of the test chain is at 31.23, 121.47 (Shanghai).
NEAR = (31.2301, 121.4702)
FAR = (39.9042, 116.4074)  # Beijing
#: Varied answers (no straight line), timed answers as the defaults (95 s).
VARIED = {"speed_satisfaction": 60, "courtesy_satisfaction": 30, "clean_atmosphere": 90,
          "quality_taste": -30}


def bearer(visit: Visit) -> dict:
    return {"Authorization": f"Bearer {visit.access_token}"}


def api(visit: Visit, what: str) -> str:
    return f"/api/shopper/visits/{visit.id}/{what}"


def textured_jpeg(seed: int, *, taken: str | None = None, gps: tuple | None = None,
                  make: str | None = None, model: str | None = None) -> bytes:
    """A picture with a pattern (a featureless one proves nothing about reuse), with the
    EXIF a phone camera writes when asked."""
    rng = random.Random(seed)
    img = Image.new("RGB", (128, 96))
    for x in range(0, 128, 16):
        for y in range(0, 96, 16):
            img.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + 16, y + 16))
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        lat, lon = gps
        exif.get_ifd(0x8825).update({
            1: "N" if lat >= 0 else "S", 2: _dms(abs(lat)),
            3: "E" if lon >= 0 else "W", 4: _dms(abs(lon))})
    out = BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _dms(x: float) -> tuple[float, float, float]:
    d = int(x)
    m = int((x - d) * 60)
    return (float(d), float(m), round((x - d - m / 60) * 3600, 2))


def check_in(client, visit: Visit, where=NEAR, minutes_ago: float = 30) -> None:
    r = client.post(api(visit, "checkin"), headers=bearer(visit),
                    json={"consent": True, "latitude": where[0], "longitude": where[1],
                          "accuracy": 12.5})
    assert r.status_code == 200, r.json
    # the shopper spent ``minutes_ago`` in the store (no waiting in tests)
    shift_start(visit, -minutes_ago)


def shift_start(visit: Visit, minutes: float) -> None:
    db.session.refresh(visit)
    visit.started_at += timedelta(minutes=minutes)
    db.session.commit()


def upload(client, visit: Visit, data: bytes):
    r = client.post(api(visit, "photos"), headers=bearer(visit),
                    data={"photo": (BytesIO(data), "p.jpg"), "category": "food"},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    return r.json


def submit(client, visit: Visit, values=None, facts=None, comments=None):
    payload = full_payload(visit, {**VARIED, **(values or {})},
                           client_id=f"cid-{visit.id}")
    payload["facts"].update(facts or {})
    for code, text in (comments or {}).items():
        item = next(i for i in visit.questionnaire.items if i.code == code)
        payload["answers"][str(item.id)]["comment"] = text
    r = client.post(api(visit, "submit"), headers=bearer(visit), json=payload)
    assert r.status_code == 200, r.json
    return r


def flag_codes(visit: Visit) -> set[str]:
    return set(db.session.scalars(select(VisitFlag.code).where(VisitFlag.visit_id == visit.id)))


def queue(client, **params) -> str:
    r = client.get("/hq/review", query_string=params)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def clean_visit(client, chain, **kw) -> Visit:
    """A visit filled in as it should be: it raises no flag."""
    visit = make_assignment(chain, store=kw.pop("store", None), shopper=kw.pop("shopper", None))
    check_in(client, visit)
    return visit


# --- paradata ---------------------------------------------------------------------------------


def test_paradata_of_a_visit_is_recorded_with_server_times_and_shown_to_hq(client, auth,
                                                                           chain):
    visit = make_assignment(chain)
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    assert client.get(f"/shopper/t/{visit.access_token}").status_code == 200
    assert client.get(f"/shopper/t/{visit.access_token}").status_code == 200  # once only
    check_in(client, visit)
    assert client.put(api(visit, "draft"), headers=bearer(visit),
                      json=full_payload(visit)).status_code == 200
    start = datetime(2026, 5, 10, 4, 30, 0)
    r = client.post(api(visit, "events"), headers=bearer(visit), json={"events": [
        {"kind": "timer_start", "item_id": timed.id, "at": start.isoformat() + "Z"},
        {"kind": "timer_stop", "item_id": timed.id, "seconds": 95,
         "at": (start + timedelta(seconds=95)).isoformat() + "+00:00"},
        {"kind": "step", "step": 0, "seconds": 41.5, "at": "2026-05-10T12:31:00+08:00"},
    ]})
    assert r.status_code == 200 and r.json == {"recorded": 3}
    submit(client, visit)

    events = db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)
                                .order_by(VisitEvent.id)).all()
    assert [e.kind for e in events] == ["opened", "checkin", "draft", "timer_start",
                                        "timer_stop", "step", "submit"]
    assert all(e.server_at is not None for e in events)
    checkin = events[1]
    assert checkin.data == {"latitude": NEAR[0], "longitude": NEAR[1], "accuracy_m": 12.5}
    assert events[3].client_at == start and events[3].item_id == timed.id
    assert events[5].client_at == datetime(2026, 5, 10, 4, 31)  # stored as UTC
    assert events[4].data == {"seconds": 95.0}

    auth.login("hq@example.com")
    html = client.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    for text in ("Form first opened", "Check-in", "accuracy_m=12.5", "Timer started",
                 "Timer stopped", "Draft saved", "step 1: 42 s", timed.code):
        assert text in html, text


def test_bad_events_are_refused_with_reasons_and_none_kept(client, chain):
    visit = make_assignment(chain)
    yesno = next(i for i in visit.questionnaire.items if i.item_type == "yesno")
    r = client.post(api(visit, "events"), headers=bearer(visit), json={"events": [
        {"kind": "step", "step": 1, "at": "2026-05-10T12:00:00Z"},
        {"kind": "timer_start", "item_id": yesno.id, "at": "2026-05-10T12:00:00Z"},
        {"kind": "lunch", "at": "2026-05-10T12:00:00Z"},
        {"kind": "step", "step": 1, "at": "yesterday"},
    ]})
    assert r.status_code == 400
    assert set(r.json["errors"]) == {"events.1", "events.2", "events.3"}
    assert "timed question" in r.json["errors"]["events.1"]
    assert client.post(api(visit, "events"), headers=bearer(visit),
                       json={"events": []}).status_code == 400
    assert db.session.scalar(select(VisitEvent.id).where(
        VisitEvent.kind == "step")) is None
    # once submitted, no more events
    submit(client, visit)
    late = client.post(api(visit, "events"), headers=bearer(visit), json={"events": [
        {"kind": "step", "step": 1, "at": "2026-05-10T12:00:00Z"}]})
    assert late.status_code == 409


def test_photo_metadata_is_kept_for_hq_and_stripped_from_the_photo(client, auth, chain):
    visit = make_assignment(chain)
    photo = upload(client, visit, textured_jpeg(1, taken="2026:05:10 12:41:07", gps=NEAR,
                                                make="Acme", model="Phone X7"))
    meta = db.session.get(PhotoMeta, photo["id"])
    assert meta.taken_at == datetime(2026, 5, 10, 12, 41, 7)
    assert meta.latitude == pytest.approx(NEAR[0], abs=1e-4)
    assert meta.longitude == pytest.approx(NEAR[1], abs=1e-4)
    assert (meta.camera_make, meta.camera_model) == ("Acme", "Phone X7")
    assert re.fullmatch(r"[0-9a-f]{16}", meta.phash)
    with client.get(photo["url"], headers=bearer(visit)) as served:
        data = served.get_data()
    with Image.open(BytesIO(data)) as img:
        assert not img.getexif() and b"Phone X7" not in data
    auth.login("hq@example.com")
    html = client.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    assert "Acme Phone X7" in html and "2026-05-10 12:41" in html


# --- one test per flag: the flag is raised on the visit that shows it, not on a clean one --


def _visit_type(client, chain, visit):
    submit(client, visit, facts={"visit_type_confirmed": False})
    return "answered No to"


def _too_fast(client, chain, visit):
    shift_start(visit, 28)  # 2 minutes in the store
    submit(client, visit)
    return "minutes from check-in to submission (at least 10 expected)"


def _far_checkin(client, chain, visit):
    db.session.execute(update(Visit).where(Visit.id == visit.id).values(started_at=None))
    db.session.commit()
    check_in(client, visit, where=FAR)
    submit(client, visit)
    return "m from the store."


def _timer_mismatch(client, chain, visit):
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    t0 = datetime(2026, 5, 10, 4, 30)
    client.post(api(visit, "events"), headers=bearer(visit), json={"events": [
        {"kind": "timer_start", "item_id": timed.id, "at": t0.isoformat() + "Z"},
        {"kind": "timer_stop", "item_id": timed.id, "at": (t0 + timedelta(seconds=40))
         .isoformat() + "Z"}]})
    _received_as_timed(visit, 40)
    submit(client, visit)  # 95 s entered, 40 s timed
    return f"Question {timed.code}: 95 s entered, but the timer ran 40 s"


def _received_as_timed(visit: Visit, seconds: int) -> None:
    """The start event reached the server ``seconds`` before the stop (no waiting)."""
    start = db.session.scalar(select(VisitEvent).where(
        VisitEvent.visit_id == visit.id, VisitEvent.kind == "timer_start"))
    start.server_at -= timedelta(seconds=seconds)
    db.session.commit()


def _photo_time(client, chain, visit):
    upload(client, visit, textured_jpeg(2, taken="2025:12:24 19:00:00"))
    submit(client, visit)
    return "was taken on 2025-12-24 19:00, not on the visit day"


def _photo_place(client, chain, visit):
    upload(client, visit, textured_jpeg(3, gps=FAR))
    submit(client, visit)
    return "Photo 1 was taken 10"  # ~1,070 km


def _duplicate_photo(client, chain, visit):
    earlier = clean_visit(client, chain, store=chain.stores[1])
    upload(client, earlier, textured_jpeg(4))
    submit(client, earlier)
    # the same picture, re-saved smaller
    with Image.open(BytesIO(textured_jpeg(4))) as img:
        out = BytesIO()
        img.resize((100, 75)).save(out, "JPEG", quality=60)
    upload(client, visit, out.getvalue())
    submit(client, visit)
    return f"is the same picture as a photo of visit {earlier.id}"


def _copied_comment(client, chain, visit):
    earlier = clean_visit(client, chain, store=chain.stores[1])
    submit(client, earlier, facts={"overall_comment": "The fries were cold and the "
                                                      "restroom floor was wet."})
    submit(client, visit, comments={"clean_restroom": "the fries were cold, and the "
                                                      "restroom floor was wet!"})
    return f"same shopper wrote for visit {earlier.id}"


def _straight_lining(client, chain, visit):
    submit(client, visit, values={"speed_satisfaction": 30, "courtesy_satisfaction": 30,
                                  "clean_atmosphere": 30, "quality_taste": 30})
    return "Every one of the 4 rating questions got the same answer."


def _outside_hours(client, chain, visit):
    store = chain.stores[0]
    auth = {"code": store.code, "name": store.name, "region_id": store.region_id,
            "timezone": "Asia/Shanghai", "latitude": "31.23", "longitude": "121.47"}
    client.post("/auth/login", data={"username": "hq@example.com", "password": "secret-pass"})
    half = client.post(f"/hq/stores/{store.id}/edit", data={**auth, "opens_at": "10:00"})
    assert half.status_code == 200 and "or neither" in half.get_data(as_text=True)
    r = client.post(f"/hq/stores/{store.id}/edit",
                    data={**auth, "opens_at": "10:00", "closes_at": "22:00"})
    assert r.status_code == 302
    client.post("/auth/logout")
    db.session.refresh(store)
    assert (store.opens_at, store.closes_at) == (time(10, 0), time(22, 0))
    # arrived at midnight: before "now" at the store whatever the time the test runs
    submit(client, visit, facts={"arrival_time": "00:00"})
    return "Arrival at 00:00 is outside the store's opening hours (10:00–22:00)."


def _integrity_answer(client, chain, visit):
    """Issue #20: an integrity question answered unlike what HQ recorded for the store and
    month (sent through the API's ``integrity`` field)."""
    from auditapp import integrity_questions

    q = integrity_questions.add_question(visit.questionnaire.code, "Badge colour?",
                                         ["Red", "Blue"], chain.hq.id)
    integrity_questions.record_truths(visit.month, {(q.id, visit.store_id): 0}, chain.hq.id)
    db.session.commit()
    payload = full_payload(visit, VARIED, client_id=f"cid-{visit.id}")
    payload["integrity"] = {str(q.id): 1}
    r = client.post(api(visit, "submit"), headers=bearer(visit), json=payload)
    assert r.status_code == 200, r.json
    return ("1 integrity answer(s) differ from what head office recorded for the store and "
            "month: Badge colour?")


FLAG_CASES = {"visit_type": _visit_type, "too_fast": _too_fast, "far_checkin": _far_checkin,
              "timer_mismatch": _timer_mismatch, "photo_time": _photo_time,
              "photo_place": _photo_place, "duplicate_photo": _duplicate_photo,
              "copied_comment": _copied_comment, "straight_lining": _straight_lining,
              "outside_hours": _outside_hours, "integrity_answer": _integrity_answer}


def test_every_flag_has_a_test():
    assert set(FLAG_CASES) == set(integrity.CHECKS)


@pytest.mark.parametrize("code", list(FLAG_CASES))
def test_flag_is_raised_with_its_reason_and_filtered_in_the_queue(client, auth, chain, code):
    good = clean_visit(client, chain, store=chain.stores[0])
    if code == "timer_mismatch":  # a timer that agrees with its events: no flag
        timed = next(i for i in good.questionnaire.items if i.item_type == "timed")
        t0 = datetime(2026, 5, 10, 4, 30)
        client.post(api(good, "events"), headers=bearer(good), json={"events": [
            {"kind": "timer_start", "item_id": timed.id, "at": t0.isoformat() + "Z"},
            {"kind": "timer_stop", "item_id": timed.id,
             "at": (t0 + timedelta(seconds=95)).isoformat() + "Z"}]})
        _received_as_timed(good, 95)
    if code in ("photo_time", "photo_place"):  # a photo taken there and then: no flag
        upload(client, good, textured_jpeg(9, taken=f"{date.today():%Y:%m:%d} 12:40:00",
                                           gps=NEAR))
    submit(client, good)
    assert flag_codes(good) == set()

    bad = clean_visit(client, chain, store=chain.stores[0])
    reason = FLAG_CASES[code](client, chain, bad)
    assert code in flag_codes(bad)

    auth.login("hq@example.com")
    page = queue(client, flag=code)
    assert f'/hq/visits/{bad.id}"' in page and f'/hq/visits/{good.id}"' not in page
    assert reason in page.replace("&#39;", "'").replace("&#34;", '"')
    detail = client.get(f"/hq/visits/{bad.id}").get_data(as_text=True)
    assert reason in detail.replace("&#39;", "'")


def test_queue_is_ordered_by_risk_with_weights_from_hq_settings(client, auth, chain):
    light = clean_visit(client, chain, store=chain.stores[0])
    submit(client, light, facts={"visit_type_confirmed": False})  # weight 3
    heavy = clean_visit(client, chain, store=chain.stores[1])
    submit(client, heavy, values={"speed_satisfaction": 90, "courtesy_satisfaction": 90,
                                  "clean_atmosphere": 90, "quality_taste": 90},
           facts={"visit_type_confirmed": False})  # 3 + 1
    clean = clean_visit(client, chain, store=chain.stores[2])
    submit(client, clean)
    auth.login("hq@example.com")

    def order() -> list[int]:
        ids = [int(i) for i in re.findall(r'/hq/visits/(\d+)"', queue(client))]
        return [v for v in ids if v in (light.id, heavy.id, clean.id)]

    page = queue(client)
    assert order() == [heavy.id, light.id, clean.id]
    assert "Risk 4" in page and "Risk 3" in page
    # HQ makes the visit type count for more than straight-lining and the same-answer
    # check count for nothing: the light visit's risk equals the heavy one's, then the
    # older submission comes first
    form = client.get("/hq/settings/integrity").get_data(as_text=True)
    assert "Default: 10" in form
    data = {**{k: v for k, v in integrity.THRESHOLDS.items()},
            **{f"w_{c}": check.default_weight for c, check in integrity.CHECKS.items()},
            "w_straight_lining": 0, "w_visit_type": 5}
    r = client.post("/hq/settings/integrity", data=data)
    assert r.status_code == 302
    assert order() == [light.id, heavy.id, clean.id]
    assert "Risk 5" in queue(client)
    # bad input: a clear message, nothing saved
    bad = client.post("/hq/settings/integrity", data={**data, "min_visit_minutes": "-3"})
    assert bad.status_code == 422 and "Between 0 and 600." in bad.get_data(as_text=True)
    assert integrity.config()["min_visit_minutes"] == 10


def test_reasons_and_filters_in_chinese(client, auth, chain):
    visit = clean_visit(client, chain)
    submit(client, visit, facts={"visit_type_confirmed": False})
    # the test's app context is shared by its requests, and Flask-Babel keeps the locale
    # the API requests above chose on it
    refresh()
    auth.login("hq@example.com")
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    page = client.get("/hq/review", headers=zh).get_data(as_text=True)
    assert "访店类型与指派不符" in page  # the flag's name (filter chip and pill)
    assert "神秘顾客对“您是否按指派进行了" in page and "回答了“否”" in page  # its reason
    assert "风险 3" in page
    detail = client.get(f"/hq/visits/{visit.id}", headers=zh).get_data(as_text=True)
    assert "可信度检查" in detail and "首次打开表单" not in detail  # opened by API only
    assert "签到" in detail


def test_a_returned_and_resubmitted_visit_gets_fresh_flags(client, auth, chain):
    visit = clean_visit(client, chain)
    submit(client, visit, facts={"visit_type_confirmed": False})
    assert flag_codes(visit) == {"visit_type"}
    auth.login("hq@example.com")
    assert client.post(f"/hq/visits/{visit.id}/return",
                       data={"reason": "Which visit type?"}).status_code == 303
    auth.logout()
    payload = full_payload(visit, VARIED, client_id="second")
    r = client.post(api(visit, "submit"), headers=bearer(visit), json=payload)
    assert r.status_code == 200
    assert flag_codes(visit) == set()


def test_no_flag_paradata_or_photo_metadata_reaches_a_store_manager(client, auth, chain):
    visit = clean_visit(client, chain, store=chain.stores[0])
    upload(client, visit, textured_jpeg(5, taken="2025:12:24 19:00:00", gps=FAR,
                                        make="Acme", model="Secret Cam 9"))
    submit(client, visit, facts={"visit_type_confirmed": False})
    assert flag_codes(visit) >= {"visit_type", "photo_time", "photo_place"}
    auth.login("hq@example.com")
    assert client.post(f"/hq/visits/{visit.id}/release").status_code == 303
    auth.logout()
    photo_id = db.session.scalar(select(Photo.id).where(Photo.visit_id == visit.id))
    auth.login("m.e001@example.com")
    month = visit.month
    secrets = ["Secret Cam", "Acme", "2025-12-24", "39.90", "116.40", "12.5", "Risk",
               "Integrity", "answered No to", "Form first opened", "Timer started", "accuracy_m",
               "not on the visit day", "from the store."]
    for url in ["/manager/", f"/manager/stores/{chain.stores[0].id}?month={month}",
                f"/manager/visits/{visit.id}", f"/files/photos/{photo_id}",
                f"/files/photos/{photo_id}?thumb=1", f"/manager/reports?month={month}",
                f"/manager/reports/export/visits.csv?month={month}",
                f"/manager/reports/visits/{visit.id}.pdf"]:
        with client.get(url) as r:
            assert r.status_code == 200, url
            body = r.get_data()
        for secret in secrets:
            assert secret.encode() not in body, (url, secret)


def test_the_demo_queue_shows_flagged_visits_with_their_reasons(runner, client):
    result = runner.invoke(args=["seed-demo", "--last-month", "2026-10"])
    assert result.exit_code == 0, result.output
    client.post("/auth/login", data={"username": "hq@example.com", "password": "demo1234"})
    page = client.get("/hq/review").get_data(as_text=True)
    for reason in ("Only 4.0 minutes from check-in to submission",
                   "answered No to", "Checked in 2300 m from the store.",
                   "Arrival at 07:40 is outside the store's opening hours (10:00–22:00).",
                   "rating questions got the same answer",
                   "95 s entered, but the timer ran 240 s"):
        assert reason in page.replace("&#39;", "'"), reason
    risks = [int(n) for n in re.findall(r"Risk (\d+)", page)]
    assert len(risks) >= 3 and risks == sorted(risks, reverse=True)


@pytest.mark.parametrize("received, flagged", [(40, True), (0, False)])
def test_a_phone_clock_that_disagrees_with_the_server_is_flagged(client, chain, received,
                                                                 flagged):
    """95 s entered and 95 s on the phone's clock, but the server received the start and
    stop 40 s apart; events sent together (kept while offline) are not compared."""
    visit = clean_visit(client, chain)
    timed = next(i for i in visit.questionnaire.items if i.item_type == "timed")
    t0 = datetime(2026, 5, 10, 4, 30)
    client.post(api(visit, "events"), headers=bearer(visit), json={"events": [
        {"kind": "timer_start", "item_id": timed.id, "at": t0.isoformat() + "Z"},
        {"kind": "timer_stop", "item_id": timed.id,
         "at": (t0 + timedelta(seconds=95)).isoformat() + "Z"}]})
    if received:
        _received_as_timed(visit, received)
    submit(client, visit)
    assert ("timer_mismatch" in flag_codes(visit)) is flagged
