"""Notifications: each event gives exactly one e-mail to exactly the right people, in their
language (plain text and HTML, with a link that works), delivered through a real SMTP
server after the commit; an SMTP outage is retried without losing a message; the in-app
inbox (bell, list, mark read); nothing sent to a store manager names the shopper."""

from __future__ import annotations

import email
import re
import socket
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from flask import g
from sqlalchemy import select

from auditapp.extensions import db, mail
from auditapp.models import Notification, OutboxMessage, Visit, utcnow
from auditapp.models.followup import Dispute
from auditapp.models.visit import ASSIGNED, SUBMITTED
from auditapp.visits import new_access_token

from .manager_helpers import SHOPPER_SECRETS, answer, file_dispute, released_visit


class Inbox:
    """What the test SMTP server received (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _use_smtp(app, port: int) -> None:
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                      MAIL_TIMEOUT=5, MAIL_DEFAULT_SENDER="audits@example.com")
    mail.init_app(app)


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, the app's mail going through it."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    _use_smtp(app, port)
    try:
        yield inbox
    finally:
        controller.stop()


def _parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def _emails(chain, zh_user=None) -> None:
    for user in [chain.hq, chain.qa, *chain.managers, *chain.shoppers]:
        user.email = f"{user.username.lower().replace('@', '.at.')}@mail.test"
    if zh_user is not None:
        zh_user.locale = "zh_CN"
    db.session.commit()


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _assigned(chain, store, shopper) -> Visit:
    visit = Visit(kind="mystery", store=store, evaluator=shopper, questionnaire=chain.ms_q,
                  month="2036-05", visit_type="walk_in", status=ASSIGNED,
                  due_date=date(2036, 5, 28), access_token=new_access_token(),
                  token_expires_at=utcnow() + timedelta(days=30))
    db.session.add(visit)
    db.session.commit()
    return visit


def test_assignment_issued_mails_the_new_shopper_in_their_language(client, auth, chain, smtp):
    old, new = chain.shoppers[0], chain.shoppers[1]
    _emails(chain, zh_user=new)
    visit = _assigned(chain, chain.stores[1], old)
    assert smtp.messages == []  # nothing for a visit made outside the services
    auth.login("hq@example.com")
    r = client.post(f"/hq/scheduling/visits/{visit.id}/reassign", data={"shopper_id": new.id})
    assert r.status_code == 302
    assert len(smtp.messages) == 2  # the new shopper, and the old one (link withdrawn)
    [gone] = smtp.to(old.email)
    assert "Assignment withdrawn" in gone["Subject"]
    assert "/shopper/t/" not in _parts(gone)[0]  # no link to a dead assignment
    [msg] = smtp.to(new.email)
    text, html = _parts(msg)
    assert "新任务" in msg["Subject"] and "Hangzhou Lake" in msg["Subject"]
    assert "2036-05-28" in text and "Hangzhou Lake" in html
    db.session.refresh(visit)
    link = re.search(r"https?://\S+", text).group(0)
    assert link == f"http://localhost/shopper/t/{visit.access_token}"
    assert f'href="{link}"' in html
    auth.logout()
    opened = client.get(link)  # the link in the e-mail opens the assignment
    assert opened.status_code == 200 and "Hangzhou Lake" in opened.get_data(as_text=True)
    assert [m.status for m in _outbox()] == ["sent", "sent"]


def test_scheduling_a_month_mails_each_shopper_once_per_visit(app, chain, smtp):
    from auditapp import scheduling

    _emails(chain)
    plan = scheduling.generate_month("2036-05")
    assert smtp.messages == []  # nothing leaves before the commit
    db.session.commit()
    assert plan.created and len(smtp.messages) == len(plan.created)
    for visit in plan.created:
        mails = [m for m in smtp.to(visit.evaluator.email)
                 if visit.access_token in m.get_body(("plain",)).get_content()]
        assert len(mails) == 1 and "New assignment" in mails[0]["Subject"]
    # a rolled-back change sends nothing
    scheduling.generate_month("2036-06")
    db.session.rollback()
    db.session.commit()
    assert len(smtp.messages) == len(plan.created)


def test_return_mails_the_evaluator_with_the_reason(client, auth, chain, smtp):
    _emails(chain)
    visit = released_visit(chain)
    visit.status, visit.released_at = SUBMITTED, None
    db.session.commit()
    auth.login("hq@example.com")
    r = client.post(f"/hq/visits/{visit.id}/return",
                    data={"reason": "The receipt photo is missing."})
    assert r.status_code == 303
    shopper = chain.shoppers[0]
    assert len(smtp.messages) == 1
    [msg] = smtp.to(shopper.email)
    text, html = _parts(msg)
    assert "returned for correction" in msg["Subject"]
    assert "The receipt photo is missing." in text and "The receipt photo is missing." in html
    assert f"/shopper/t/{visit.access_token}" in text


def test_release_tells_the_store_manager_hot_alert_on_a_critical_failure(client, auth, chain,
                                                                       smtp):
    manager, other_store_manager = chain.managers[0], chain.managers[1]
    _emails(chain, zh_user=manager)
    failed = released_visit(chain)  # the restroom (a critical item) failed
    clean = released_visit(chain, chain.stores[1], values={"clean_restroom": 1})
    for v in (failed, clean):
        v.status, v.released_at = SUBMITTED, None
    db.session.commit()
    auth.login("hq@example.com")
    assert client.post(f"/hq/visits/{failed.id}/release").status_code == 303
    [hot] = smtp.to(manager.email)
    assert len(smtp.messages) == 1  # only store E001's manager
    text, html = _parts(hot)
    assert "[auditapp] 紧急提醒" in hot["Subject"] and "上海南京西路店" in hot["Subject"]
    assert "洗手间" in text or "restroom" in text.lower()
    assert f"/manager/visits/{failed.id}" in text and f"/manager/visits/{failed.id}" in html
    assert client.post(f"/hq/visits/{clean.id}/release").status_code == 303
    [notice] = smtp.to(other_store_manager.email)
    assert "Audit released" in notice["Subject"] and "Hangzhou Lake" in notice["Subject"]
    assert len(smtp.messages) == 2
    # nothing a manager receives (e-mail or inbox) names or hints at the shopper
    auth.logout()
    for m in (hot, notice):
        for part in (*_parts(m), m["Subject"]):
            for secret in (*SHOPPER_SECRETS, "ms-101", "shopper"):
                assert secret.lower() not in part.lower(), (secret, part)
    auth.login(manager.username)
    page = client.get("/notifications").get_data(as_text=True)
    for secret in SHOPPER_SECRETS:
        assert secret not in page


def test_dispute_decided_mails_the_manager_who_filed_it(client, auth, chain, smtp):
    manager = chain.managers[0]
    _emails(chain)
    visit = released_visit(chain)
    auth.login(manager.username)
    assert file_dispute(client, visit, answer(visit, "clean_restroom")).status_code == 302
    auth.logout()
    assert smtp.messages == []
    dispute = db.session.scalars(select(Dispute)).one()
    auth.login("hq@example.com")
    r = client.post(f"/hq/disputes/{dispute.id}/decide",
                    data={f"x{dispute.id}-decision": "reject",
                          f"x{dispute.id}-note": "The photo shows an empty dispenser.",
                          f"x{dispute.id}-corrected_value": ""})
    assert r.status_code == 302
    [msg] = smtp.to(manager.email)
    assert len(smtp.messages) == 1
    text, _html = _parts(msg)
    assert "rejected" in text and "The photo shows an empty dispenser." in text
    for secret in SHOPPER_SECRETS:
        assert secret not in text


def test_smtp_outage_is_retried_without_loss(client, auth, chain, app, runner, caplog):
    _emails(chain)
    chain.shoppers[0].email = None  # (the shopper it is taken from is told too; not here)
    db.session.commit()
    port = _free_port()
    _use_smtp(app, port)  # nothing listens there: every send fails
    visit = _assigned(chain, chain.stores[1], chain.shoppers[0])
    auth.login("hq@example.com")
    with caplog.at_level("WARNING", logger="auditapp.jobs"):
        r = client.post(f"/hq/scheduling/visits/{visit.id}/reassign",
                        data={"shopper_id": chain.shoppers[1].id})
    assert r.status_code == 302  # the change itself is done
    [message] = _outbox()
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    assert any("not sent" in rec.getMessage() for rec in caplog.records)
    db.session.refresh(visit)
    assert visit.evaluator_id == chain.shoppers[1].id
    # the server comes back: the next delivery sends the waiting message, once
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = runner.invoke(args=["notify", "send"])
        assert result.exit_code == 0, result.output
        assert "1 sent" in result.output
        assert len(inbox.to(chain.shoppers[1].email)) == 1
        assert runner.invoke(args=["notify", "send"]).exit_code == 0
        assert len(inbox.messages) == 1  # a second run sends nothing again
    finally:
        controller.stop()
    [message] = _outbox()
    assert message.status == "sent" and message.attempts == 2


def test_inbox_bell_list_and_mark_read(client, auth, chain):
    visit = released_visit(chain)
    visit.status, visit.released_at = SUBMITTED, None
    db.session.commit()
    auth.login("hq@example.com")
    client.post(f"/hq/visits/{visit.id}/release")
    auth.logout()
    # managers without an e-mail address still get the inbox line
    auth.login("m.e001@example.com")
    page = client.get("/manager/").get_data(as_text=True)
    assert re.search(r'class="pill unread-count">1<', page)
    inbox = client.get("/notifications").get_data(as_text=True)
    assert "Hot alert" in inbox and "上海南京西路店" in inbox
    note = db.session.scalars(select(Notification)).one()
    r = client.post(f"/notifications/{note.id}/read")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/manager/visits/{visit.id}")
    assert "unread-count" not in client.get("/notifications").get_data(as_text=True)
    # another person cannot mark it (404), and HQ's own inbox is empty
    auth.logout()
    auth.login("m.e002@example.com")
    assert client.post(f"/notifications/{note.id}/read").status_code == 404
    auth.logout()
    auth.login("hq@example.com")
    assert "No notifications yet." in client.get("/notifications").get_data(as_text=True)
    # the inbox in Chinese for a Chinese reader
    db.session.get(Notification, note.id).read_at = None
    chain.managers[0].locale = "zh_CN"
    db.session.commit()
    auth.logout()
    g.pop("_flask_babel", None)  # the test app context keeps the last request's locale
    auth.login("m.e001@example.com")
    assert "紧急" in client.get("/notifications").get_data(as_text=True)
    assert client.post("/notifications/read").status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None


def test_without_a_mail_server_messages_are_written_to_files(chain, app, tmp_path, caplog):
    from auditapp import scheduling

    folder = tmp_path / "mail"
    app.config.update(MAIL_BACKEND="file", MAIL_FILE_PATH=str(folder))
    mail.init_app(app)
    chain.shoppers[0].email = "alice@mail.test"
    db.session.commit()
    visit = _assigned(chain, chain.stores[1], chain.shoppers[1])
    scheduling.reassign(visit, chain.shoppers[0])
    with caplog.at_level("WARNING", logger="auditapp.jobs"):
        db.session.commit()
    files = list(folder.iterdir())
    assert len(files) == 1 and "alice@mail.test" in files[0].read_text()
    assert any(str(folder) in r.getMessage() for r in caplog.records)  # said where it went


def test_complaint_recorded_mails_the_store_managers(client, auth, chain, smtp):
    manager = chain.managers[1]  # store E002
    _emails(chain, zh_user=manager)
    auth.login("hq@example.com")
    r = client.post("/hq/complaints/new", data={
        "store_id": chain.stores[1].id, "received_at": "2026-05-10T09:30", "channel": "phone",
        "severity": "major", "category": "courtesy", "description": "Rude crew 店员态度差"})
    assert r.status_code in (302, 303)
    [msg] = smtp.to(manager.email)
    assert len(smtp.messages) == 1
    text, html = _parts(msg)
    assert "投诉" in msg["Subject"] and "Hangzhou Lake" in text and "（严重程度：严重）" in text
    assert f"/manager/stores/{chain.stores[1].id}" in html
