# ruff: noqa: F811 - the smtp and rq_queue fixtures are imported from their test modules
"""Deadlines (issue #18 item 4): overdue / due-soon markers for the shopper and HQ, the
scheduling page's counts, bulk extend / reassign / cancel, late submissions marked for HQ
only, and the periodic checks (``flask notify run`` and the RQ scheduled job): each notice
to exactly the right people, in their language, with the link to act on, and never twice.
All e-mail goes through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from auditapp.extensions import db
from auditapp.models import (
    AuditLog,
    CorrectiveAction,
    MonthClosure,
    Notification,
    OutboxMessage,
    ReminderSent,
    Visit,
    utcnow,
)
from auditapp.models.visit import ASSIGNED, CANCELLED, IN_PROGRESS, SUBMITTED
from auditapp.visits import new_access_token

from .factories import make_complaint, make_visit
from .manager_helpers import SHOPPER_SECRETS, make_area_manager, released_visit
from .shopper_helpers import full_payload, make_assignment
from .test_jobs import redis_conn, rq_queue  # noqa: F401 (fixtures)
from .test_notifications import _emails, _parts, smtp  # noqa: F401 (smtp is a fixture)

TODAY = date.today()


def _visit(chain, store, shopper, due: date, status=ASSIGNED, month: str | None = None) -> Visit:
    visit = Visit(kind="mystery", store=store, evaluator=shopper, questionnaire=chain.ms_q,
                  month=month or f"{due:%Y-%m}", visit_type="walk_in", status=status,
                  due_date=due, access_token=new_access_token(),
                  token_expires_at=utcnow() + timedelta(days=60))
    db.session.add(visit)
    db.session.commit()
    return visit


def _bulk(client, ids, action, **extra):
    data = {"visit_id": [str(i) for i in ids], "action": action, "month": f"{TODAY:%Y-%m}",
            "due_date": "", "shopper_id": "0", **extra}
    return client.post("/hq/scheduling/bulk", data=data, follow_redirects=True)


# --- markers and counts ---------------------------------------------------------------------


def test_overdue_and_due_soon_are_marked_for_the_shopper_and_counted_for_hq(client, auth,
                                                                           chain):
    alice = chain.shoppers[0]
    _visit(chain, chain.stores[0], alice, TODAY - timedelta(days=3))
    _visit(chain, chain.stores[1], alice, TODAY + timedelta(days=1))
    _visit(chain, chain.stores[2], alice, TODAY + timedelta(days=20))
    done = _visit(chain, chain.stores[3], alice, TODAY - timedelta(days=3), status=SUBMITTED)
    auth.login(alice.username)
    page = client.get("/shopper/").get_data(as_text=True)
    cards = re.findall(r'<li class="card assignment.*?</li>', page, re.S)
    marks = {re.search(r'class="a-title">([^<]+)<', c).group(1):
             ("Overdue" in c, "Due soon" in c) for c in cards}
    assert marks == {"上海南京西路店": (True, False), "Hangzhou Lake": (False, True),
                     "北京王府井店": (False, False), "Tianjin Binjiang": (False, False)}
    auth.logout()
    auth.login("hq@example.com")
    html = client.get(f"/hq/scheduling?month={TODAY:%Y-%m}").get_data(as_text=True)
    assert re.search(r'id="count-overdue">1 overdue<', html)
    assert re.search(r'id="count-due-soon">1 due soon<', html)
    # a submitted visit is not overdue and cannot be picked for a bulk change
    assert f'value="{done.id}"' not in html.split('id="bulk-form"')[1].split("</form>")[0]


# --- bulk changes ---------------------------------------------------------------------------


def test_bulk_extend_moves_the_due_dates_and_says_which_rows_could_not(client, auth, chain,
                                                                      smtp):
    _emails(chain)
    alice, bob = chain.shoppers[0], chain.shoppers[1]
    late = _visit(chain, chain.stores[0], alice, TODAY - timedelta(days=2))
    late2 = _visit(chain, chain.stores[1], bob, TODAY - timedelta(days=1), status=IN_PROGRESS)
    sent = _visit(chain, chain.stores[2], bob, TODAY - timedelta(days=1), status=SUBMITTED)
    auth.login("hq@example.com")
    new_due = TODAY + timedelta(days=40)  # past the assignment month: allowed
    r = _bulk(client, [late.id, late2.id, sent.id], "extend", due_date=new_due.isoformat())
    html = r.get_data(as_text=True)
    assert "2 assignments are now due by" in html
    assert "Not changed: N001 · 北京王府井店" in html and "Awaiting review" in html
    db.session.expire_all()
    for v in (late, late2):
        v = db.session.get(Visit, v.id)
        assert v.due_date == new_due
        assert v.token_expires_at >= datetime.combine(new_due, datetime.min.time())
    assert db.session.get(Visit, sent.id).due_date == TODAY - timedelta(days=1)
    logs = db.session.scalars(select(AuditLog).where(AuditLog.action == "extend")).all()
    assert sorted(int(a.entity_id) for a in logs) == sorted([late.id, late2.id])
    # each shopper is told once, with the link; nothing for the refused row
    assert len(smtp.messages) == 2
    [msg] = smtp.to(alice.email)
    assert "New due date" in msg["Subject"] and new_due.isoformat() in _parts(msg)[0]
    assert f"/shopper/t/{late.access_token}" in _parts(msg)[0]
    # a date in the past is refused for all rows
    r = _bulk(client, [late.id], "extend", due_date=(TODAY - timedelta(days=1)).isoformat())
    assert "The new due date cannot be in the past." in r.get_data(as_text=True)
    # the shopper may now submit a visit made after the assignment month (extended window)
    auth.logout()
    db.session.expire_all()
    assert db.session.get(Visit, late.id).status == ASSIGNED


def test_bulk_reassign_gives_new_links_kills_the_old_and_tells_both_shoppers(client, auth,
                                                                           chain, smtp):
    _emails(chain)
    alice, bob, carol = chain.shoppers
    a = _visit(chain, chain.stores[0], alice, TODAY - timedelta(days=2))
    b = _visit(chain, chain.stores[1], bob, TODAY - timedelta(days=2))
    c = _visit(chain, chain.stores[2], carol, TODAY - timedelta(days=2))  # carol has it
    old_links = {v.id: f"/shopper/t/{v.access_token}" for v in (a, b)}
    auth.login("hq@example.com")
    r = _bulk(client, [a.id, b.id, c.id], "reassign", shopper_id=str(carol.id))
    html = r.get_data(as_text=True)
    assert "2 assignments reassigned to MS-103" in html
    assert "Not changed: N001 · 北京王府井店" in html and "MS-103 already has this visit." in html
    db.session.expire_all()
    auth.logout()
    for v in (a, b):
        fresh = db.session.get(Visit, v.id)
        assert fresh.evaluator_id == carol.id
        assert client.get(old_links[v.id]).status_code == 404  # the old link is dead
        assert client.get(f"/shopper/t/{fresh.access_token}").status_code == 200
    assert [m["Subject"].strip() for m in smtp.to(alice.email)] == \
        ["[auditapp] Assignment withdrawn: 上海南京西路店"]
    assert len(smtp.to(bob.email)) == 1
    assert len(smtp.to(carol.email)) == 2  # one new assignment each, with its own link


def test_bulk_cancel_kills_the_link_keeps_the_record_and_tells_the_shopper(client, auth, chain,
                                                                          smtp):
    _emails(chain, zh_user=chain.shoppers[0])
    alice = chain.shoppers[0]
    a = _visit(chain, chain.stores[0], alice, TODAY - timedelta(days=2))
    sent = _visit(chain, chain.stores[1], alice, TODAY - timedelta(days=2), status=SUBMITTED)
    link = f"/shopper/t/{a.access_token}"
    auth.login("hq@example.com")
    html = _bulk(client, [a.id, sent.id], "cancel").get_data(as_text=True)
    assert "1 assignment cancelled; its link no longer works." in html
    assert "Not changed: E002 · Hangzhou Lake" in html
    assert "Only an assignment not yet sent can be cancelled" in html
    db.session.expire_all()
    assert db.session.get(Visit, a.id).status == CANCELLED
    assert db.session.get(Visit, sent.id).status == SUBMITTED
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "cancel")).one()
    assert log.entity_id == str(a.id) and log.before["status"] == ASSIGNED
    auth.logout()
    assert client.get(link).status_code == 404
    auth.login(alice.username)  # her list says so; the visit tells her not to go
    page = client.get("/shopper/").get_data(as_text=True)
    assert "pill status-cancelled" in page  # marked cancelled in her list
    page = client.get(f"/shopper/visits/{a.id}").get_data(as_text=True)
    assert "please do not make this visit" in page or "请不要再去访店" in page
    auth.logout()
    [msg] = smtp.to(alice.email)
    assert "任务已取消" in msg["Subject"]
    # nothing selected: a clear message, nothing changes
    auth.login("hq@example.com")
    assert "Select at least one assignment." in _bulk(client, [], "cancel").get_data(
        as_text=True)


# --- late submissions -----------------------------------------------------------------------


def _submit(client, visit, payload):
    return client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload,
                       headers={"Authorization": f"Bearer {visit.access_token}"})


def test_a_late_submission_is_accepted_and_marked_for_hq_only(client, auth, chain):
    on_time = make_assignment(chain, chain.stores[1])
    late = make_assignment(chain, chain.stores[0])
    late.due_date = utcnow().date() - timedelta(days=1)
    db.session.commit()
    assert _submit(client, on_time, full_payload(on_time, client_id="c-1")).status_code == 200
    assert _submit(client, late, full_payload(late, client_id="c-2")).status_code == 200
    db.session.expire_all()
    assert db.session.get(Visit, late.id).submitted_late is True
    assert db.session.get(Visit, on_time.id).submitted_late is False
    auth.login("hq@example.com")
    page = client.get(f"/hq/visits/{late.id}").get_data(as_text=True)
    assert "late-submission" in page and "Late: due" in page
    assert "late-submission" not in client.get(f"/hq/visits/{on_time.id}").get_data(
        as_text=True)
    assert client.post(f"/hq/visits/{late.id}/release").status_code in (302, 303)
    auth.logout()
    auth.login("m.e001@example.com")
    page = client.get(f"/manager/visits/{late.id}").get_data(as_text=True)
    assert "上海南京西路店" in page  # the manager sees the audit, not that it came late
    assert "late-submission" not in page and "Late" not in page and "逾期提交" not in page


def test_a_late_submission_into_a_closed_month_is_refused(client, chain):
    visit = make_assignment(chain, chain.stores[0])
    last_month_end = utcnow().date().replace(day=1) - timedelta(days=1)
    visit.month = f"{last_month_end:%Y-%m}"
    visit.due_date = last_month_end - timedelta(days=1)
    db.session.add(MonthClosure(month=visit.month, settings={}))
    db.session.commit()
    payload = full_payload(visit)
    payload["facts"]["visit_date"] = last_month_end.isoformat()
    r = _submit(client, visit, payload)
    assert r.status_code == 409 and "is now closed" in r.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == ASSIGNED


# --- the periodic checks -------------------------------------------------------------------

NOW = "2036-05-20T08:00"
T = date(2036, 5, 20)


def _periodic_world(chain):
    """Everything the periodic checks look at, as of 2036-05-20 (see each comment)."""
    alice, bob, carol = chain.shoppers
    soon = _visit(chain, chain.stores[0], alice, T + timedelta(days=1))  # due soon: alice
    over = _visit(chain, chain.stores[1], bob, T - timedelta(days=2))  # overdue: bob, HQ
    _visit(chain, chain.stores[2], carol, T + timedelta(days=11))  # not yet: nobody
    # a released April visit of E001 (April: all reviewed, nothing open: ready to close)
    april = make_visit(chain, chain.stores[0], visit_date=date(2036, 4, 10))
    actions = {}
    for name, due in (("soon", T + timedelta(days=1)), ("late10", T - timedelta(days=10)),
                      ("late3", T - timedelta(days=3))):
        row = CorrectiveAction(visit=april, action=f"Fix it ({name})", owner="Wang",
                               due_date=due)
        db.session.add(row)
        actions[name] = row
    # March: a visit still awaiting review (not ready)
    make_visit(chain, chain.stores[1], visit_date=date(2036, 3, 10), status=SUBMITTED)
    make_complaint(chain.stores[1], datetime(2036, 5, 15, 9, 0))  # overdue (48 h): HQ
    make_complaint(chain.stores[2], datetime(2036, 5, 20, 7, 0))  # not yet
    db.session.commit()
    return soon, over, actions


def test_periodic_run_tells_exactly_the_right_people_once(runner, chain, smtp):
    alice, bob, carol = chain.shoppers
    manager, hq = chain.managers[0], chain.hq
    _emails(chain, zh_user=alice)
    soon, over, _actions = _periodic_world(chain)
    result = runner.invoke(args=["notify", "run", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert "9 notice(s) given." in result.output
    by_rcpt = {}
    for rcpts, msg in smtp.messages:
        for r in rcpts:
            by_rcpt.setdefault(r, []).append(msg)
    assert set(by_rcpt) == {alice.email, bob.email, manager.email, hq.email}
    # shoppers: their own visit, their language, the link to it
    [a] = by_rcpt[alice.email]
    assert "提醒" in a["Subject"] and "2036-05-21" in a["Subject"]
    assert f"/shopper/t/{soon.access_token}" in _parts(a)[0]
    [b] = by_rcpt[bob.email]
    assert b["Subject"].strip() == "[auditapp] Overdue: visit to Hangzhou Lake"
    assert f"/shopper/t/{over.access_token}" in _parts(b)[0]
    # the store manager: one due-soon and two overdue corrective actions, to the action page
    subjects = sorted(m["Subject"].strip() for m in by_rcpt[manager.email])
    assert subjects == ["[auditapp] Corrective action due 2036-05-21: 上海南京西路店",
                        "[auditapp] Corrective action overdue: 上海南京西路店",
                        "[auditapp] Corrective action overdue: 上海南京西路店"]
    for m in by_rcpt[manager.email]:
        text, html = _parts(m)
        assert "/manager/actions" in text and "/manager/actions" in html
        for part in (text, html, m["Subject"]):
            for secret in (*SHOPPER_SECRETS, "MS-10", "shopper"):
                assert secret.lower() not in part.lower(), (secret, part)
    # HQ: the overdue list, the escalation (10 days late >= 7), the complaint, April
    hq_mail = {m["Subject"].strip(): _parts(m)[0] for m in by_rcpt[hq.email]}
    assert set(hq_mail) == {
        "[auditapp] 1 assignment(s) overdue",
        "[auditapp] Escalated: corrective action overdue at 上海南京西路店",
        "[auditapp] Complaint overdue: Hangzhou Lake",
        "[auditapp] 2036-04 is ready to close",
    }
    assert "E002 Hangzhou Lake (2036-05, 2036-05-18, MS-102)" in \
        hq_mail["[auditapp] 1 assignment(s) overdue"]
    assert "/hq/scheduling" in hq_mail["[auditapp] 1 assignment(s) overdue"]
    assert "Fix it (late10)" in \
        hq_mail["[auditapp] Escalated: corrective action overdue at 上海南京西路店"]
    assert "/hq/months" in hq_mail["[auditapp] 2036-04 is ready to close"]
    assert carol.email not in by_rcpt  # her visit is not due yet
    inbox = db.session.scalar(select(func.count(Notification.id)))
    # a second run (cron, the job, twice) gives nothing again
    again = runner.invoke(args=["notify", "run", "--now", NOW])
    assert again.exit_code == 0 and "0 notice(s) given." in again.output
    assert len(smtp.messages) == 9
    assert db.session.scalar(select(func.count(Notification.id))) == inbox
    # a moved due date is a new deadline: reminded again when it comes close
    db.session.get(Visit, over.id).due_date = date(2036, 5, 22)
    db.session.commit()
    later = runner.invoke(args=["notify", "run", "--now", "2036-05-21T08:00"])
    assert later.exit_code == 0
    assert [m["Subject"].strip() for m in smtp.to(bob.email)][-1] == \
        "[auditapp] Reminder: visit to Hangzhou Lake due 2036-05-22"


def test_escalation_delay_is_an_effective_dated_setting(runner, chain, smtp):
    _emails(chain)
    _periodic_world(chain)
    # from June on, escalate after 2 days; May keeps the default 7
    r = runner.invoke(args=["notify", "escalation-delay", "2", "--from", "2036-06"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(args=["notify", "run", "--now", NOW]).exit_code == 0
    escalated = [m for m in smtp.to(chain.hq.email) if "Escalated" in m["Subject"]]
    assert len(escalated) == 1 and "Fix it (late10)" in _parts(escalated[0])[0]
    # 2036-06-01: "late3" (due 05-17) is 15 days late; "soon" (due 05-21) 11 days: both
    # escalate now, under June's setting
    assert runner.invoke(args=["notify", "run", "--now", "2036-06-01T08:00"]).exit_code == 0
    escalated = [m for m in smtp.to(chain.hq.email) if "Escalated" in m["Subject"]]
    texts = sorted(_parts(m)[0] for m in escalated)
    assert len(escalated) == 3 and any("Fix it (late3)" in t for t in texts)
    # the rule itself: 2 days, not 7
    from auditapp import deadlines

    assert deadlines.escalation_days("2036-06") == 2
    assert deadlines.escalation_days("2036-05") == 7


def test_periodic_checks_run_as_a_scheduled_rq_job(app, chain, smtp, rq_queue):
    from rq import SimpleWorker
    from rq.job import Job

    from auditapp import jobs

    queue, workers = rq_queue
    _emails(chain)
    over = _visit(chain, chain.stores[1], chain.shoppers[1], TODAY - timedelta(days=2))
    first = jobs.schedule_periodic()
    assert first is not None and jobs.schedule_periodic() == first  # scheduled once
    registry = queue.scheduled_job_registry
    assert registry.get_job_ids() == [first]
    # time passes: the worker's scheduler (``rq worker --with-scheduler``) enqueues it and
    # the worker runs it
    job = Job.fetch(first, connection=queue.connection)
    registry.schedule(job, datetime.now().astimezone() - timedelta(seconds=1))
    worker = SimpleWorker([queue], connection=queue.connection, name=f"w-{first[-6:]}")
    workers.append(worker)
    assert worker.work(burst=True, with_scheduler=True)
    assert Job.fetch(first, connection=queue.connection).get_status() == "finished"
    [msg] = smtp.to(chain.shoppers[1].email)
    assert "Overdue" in msg["Subject"] and f"/shopper/t/{over.access_token}" in _parts(msg)[0]
    # it scheduled its next run (one), which will send nothing new
    [following] = registry.get_job_ids()
    assert following != first
    Job.fetch(following, connection=queue.connection).delete()
    assert jobs.run_periodic_now() == {}
    assert db.session.scalar(select(func.count(ReminderSent.id))) == 2  # shopper + HQ list
    assert len(smtp.messages) == 2


def test_without_redis_notify_schedule_runs_the_checks_now(app, runner, chain, smtp):
    _emails(chain)
    app.config["REDIS_URL"] = None
    _visit(chain, chain.stores[1], chain.shoppers[1], TODAY - timedelta(days=2))
    result = runner.invoke(args=["notify", "schedule"])
    assert result.exit_code == 0
    assert "the checks ran now (2 notice(s) given)" in result.output
    assert "flask notify run" in result.output
    assert len(smtp.to(chain.shoppers[1].email)) == 1
    assert "(0 notice(s) given)" in runner.invoke(args=["notify", "schedule"]).output


# --- other notifications and preferences ---------------------------------------------------


def test_area_manager_is_told_of_releases_in_their_region(client, auth, chain, smtp):
    _emails(chain)
    east = make_area_manager("area.east@example.com", chain.regions[0])
    north = make_area_manager("area.north@example.com", chain.regions[1])
    east.email, north.email = "east@mail.test", "north@mail.test"
    visit = released_visit(chain, chain.stores[1], values={"clean_restroom": 1})
    visit.status, visit.released_at = SUBMITTED, None
    db.session.commit()
    auth.login("hq@example.com")
    assert client.post(f"/hq/visits/{visit.id}/release").status_code == 303
    [msg] = smtp.to("east@mail.test")
    assert "Audit released" in msg["Subject"] and f"/manager/visits/{visit.id}" in _parts(msg)[0]
    assert smtp.to("north@mail.test") == []
    assert len(smtp.messages) == 2  # the store's manager and the area manager
    for part in (*_parts(msg), msg["Subject"]):
        for secret in SHOPPER_SECRETS:
            assert secret not in part


def test_rejection_tells_the_shopper_with_the_reason(client, auth, chain, smtp):
    _emails(chain)
    visit = released_visit(chain)
    visit.status, visit.released_at = SUBMITTED, None
    db.session.commit()
    auth.login("hq@example.com")
    r = client.post(f"/hq/visits/{visit.id}/reject", data={"reason": "Visited the wrong store."})
    assert r.status_code in (302, 303)
    [msg] = smtp.to(chain.shoppers[0].email)
    assert len(smtp.messages) == 1
    text, html = _parts(msg)
    assert "Visit rejected" in msg["Subject"] and "Visited the wrong store." in text
    assert "/shopper/" in text and "Visited the wrong store." in html


def test_preferences_turn_optional_notifications_off_but_not_mandatory_ones(client, auth,
                                                                           chain, smtp,
                                                                           runner):
    _emails(chain)
    bob = chain.shoppers[1]
    auth.login(bob.username)
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'name="email-assignment_overdue"' in page
    assert "assignment_issued" not in page  # mandatory: not offered
    assert page.count('id="notification-prefs"') == 1
    # bob keeps overdue notices in the inbox only, and tries to turn off new assignments
    data = {f"{ch}-{code}": "1" for code in ("assignment_due_soon", "assignment_extended",
                                             "visit_returned", "visit_rejected")
            for ch in ("email", "inbox")}
    data.update({"inbox-assignment_overdue": "1", "email-assignment_issued": "",
                 "inbox-assignment_issued": ""})
    r = client.post("/auth/account/notifications", data=data, follow_redirects=True)
    assert "Notification choices saved." in r.get_data(as_text=True)
    page = client.get("/auth/account").get_data(as_text=True)
    assert not re.search(r'name="email-assignment_overdue"[^>]*checked', page)
    assert re.search(r'name="inbox-assignment_overdue"[^>]*checked', page)
    auth.logout()
    _visit(chain, chain.stores[1], bob, T - timedelta(days=2))
    assert runner.invoke(args=["notify", "run", "--now", NOW]).exit_code == 0
    assert smtp.to(bob.email) == []  # no e-mail …
    notes = db.session.scalars(select(Notification).where(Notification.user_id == bob.id)).all()
    assert [n.event for n in notes] == ["assignment_overdue"]  # … but the inbox line
    # a new assignment is mandatory: it still comes by e-mail
    visit = _visit(chain, chain.stores[0], chain.shoppers[0], TODAY + timedelta(days=9))
    auth.login("hq@example.com")
    client.post(f"/hq/scheduling/visits/{visit.id}/reassign", data={"shopper_id": bob.id})
    assert [m["Subject"].strip() for m in smtp.to(bob.email)] == \
        ["[auditapp] New assignment: 上海南京西路店"]
    # an HQ user is offered the HQ events, a manager the store's
    assert db.session.scalar(select(func.count(OutboxMessage.id))) >= 1
    auth.logout()
    auth.login("m.e001@example.com")
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'name="email-hot_alert"' in page and "assignment_overdue" not in page
