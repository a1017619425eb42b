"""Self-service accounts: change one's password (the current one required) and reset a
forgotten one through a signed, expiring, single-use e-mailed link, without telling who has
an account, throttled."""

from __future__ import annotations

import re

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

from auditapp import create_app
from auditapp.extensions import db
from auditapp.models import OutboxMessage, User

from .factories import PASSWORD, make_chain


def _sent() -> list:
    """What the locmem mail backend (the testing default) received."""
    return list(getattr(current_app.extensions["mailman"], "outbox", []))


def _user(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(db.select(User).where(User.username == username))


def test_change_password_needs_the_current_one(client, auth, chain):
    auth.login("m.e001@example.com")
    r = client.post("/auth/account/password", data={
        "current_password": "wrong-one", "new_password": "brand-new-pass",
        "confirm": "brand-new-pass"})
    assert r.status_code == 400
    assert "That is not your current password." in r.get_data(as_text=True)
    r = client.post("/auth/account/password", data={
        "current_password": PASSWORD, "new_password": "brand-new-pass", "confirm": "other-pass"})
    assert r.status_code == 400 and "The two new passwords differ." in r.get_data(as_text=True)
    r = client.post("/auth/account/password", data={
        "current_password": PASSWORD, "new_password": "short", "confirm": "short"})
    assert r.status_code == 400 and "At least 8 characters." in r.get_data(as_text=True)
    assert _user("m.e001@example.com").check_password(PASSWORD)
    r = client.post("/auth/account/password", data={
        "current_password": PASSWORD, "new_password": "brand-new-pass",
        "confirm": "brand-new-pass"}, follow_redirects=True)
    assert r.status_code == 200 and "Password changed." in r.get_data(as_text=True)
    assert client.get("/manager/").status_code == 200  # this session goes on
    assert _user("m.e001@example.com").check_password("brand-new-pass")
    auth.logout()
    assert auth.login("m.e001@example.com", PASSWORD).status_code == 200  # old one refused
    assert auth.login("m.e001@example.com", "brand-new-pass").status_code == 302


def test_change_password_in_chinese(client, auth, chain):
    chain.managers[0].locale = "zh_CN"
    db.session.commit()
    auth.login("m.e001@example.com")
    assert "修改密码" in client.get("/auth/account").get_data(as_text=True)
    r = client.post("/auth/account/password", data={
        "current_password": "wrong-one", "new_password": "brand-new-pass",
        "confirm": "brand-new-pass"})
    assert r.status_code == 400 and "当前密码不正确" in r.get_data(as_text=True)


def _reset_link(text: str) -> str:
    return re.search(r"http://localhost(/auth/reset/\S+)", text).group(1)


def test_forgot_password_link_is_signed_single_use_and_does_not_enumerate(client, chain):
    shopper = chain.shoppers[0]
    shopper.email = "alice@example.com"
    db.session.commit()
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/forgot"' in page
    answers = {}
    for who in ("MS-101", "nobody@example.com", "MS-102"):  # MS-102 has no e-mail address
        r = client.post("/auth/forgot", data={"username": who})
        assert r.status_code == 200
        answers[who] = r.get_data(as_text=True)
    assert answers["MS-101"] == answers["nobody@example.com"] == answers["MS-102"]
    assert "a link to choose a new password is on its way" in answers["MS-101"]
    [message] = _sent()
    assert message.to == ["alice@example.com"]
    html = message.alternatives[0][0]
    link = _reset_link(message.body)
    assert link in html
    # by e-mail address too
    client.post("/auth/forgot", data={"username": "ALICE@example.com"})
    assert len(_sent()) == 2
    # a tampered or foreign token is refused with a message
    r = client.get(link[:-3] + "xyz")
    assert r.status_code == 400 and "This link is not valid" in r.get_data(as_text=True)
    forged = URLSafeTimedSerializer("not-our-secret", salt="auditapp-password-reset").dumps(
        {"u": shopper.id, "f": "x"})
    assert client.get(f"/auth/reset/{forged}").status_code == 400
    # the link sets a new password once
    assert client.get(link).status_code == 200
    r = client.post(link, data={"new_password": "short", "confirm": "short"})
    assert r.status_code == 400 and "At least 8 characters." in r.get_data(as_text=True)
    r = client.post(link, data={"new_password": "a-new-secret", "confirm": "a-new-secret"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/auth/login")
    assert _user("MS-101").check_password("a-new-secret")
    again = client.post(link, data={"new_password": "another-one", "confirm": "another-one"})
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)
    # the second link, asked for before the reset, is spent too
    assert client.get(_reset_link(_sent()[1].body)).status_code == 400
    # the reset e-mail went through the outbox, and no inbox line was written
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 2


def test_reset_link_expires(client, chain, app):
    chain.shoppers[0].email = "alice@example.com"
    db.session.commit()
    client.post("/auth/forgot", data={"username": "MS-101"})
    link = _reset_link(_sent()[0].body)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    assert client.get(link).status_code == 400


def test_reset_email_in_the_users_language(client, chain):
    shopper = chain.shoppers[0]
    shopper.email, shopper.locale = "alice@example.com", "zh_CN"
    db.session.commit()
    client.post("/auth/forgot", data={"username": "MS-101"})
    [message] = _sent()
    assert "重置密码" in message.subject and "/auth/reset/" in message.body


def test_forgot_password_is_throttled(tmp_path):
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.sqlite'}",
        "UPLOAD_FOLDER": str(tmp_path / "files"), "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://", "PASSWORD_RESET_LIMIT_PER_ACCOUNT": "3 per hour",
        "PASSWORD_RESET_LIMIT_PER_IP": "5 per hour",
    })
    with app.app_context():
        db.create_all()
        chain = make_chain()
        chain.shoppers[0].email = "alice@example.com"
        db.session.commit()
        client = app.test_client()
        codes = [client.post("/auth/forgot", data={"username": "MS-101"},
                             environ_base={"REMOTE_ADDR": f"192.0.2.{i}"}).status_code
                 for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]  # per account, whatever the address
        assert len(_sent()) == 3
        codes = [client.post("/auth/forgot", data={"username": f"x{i}"},
                             environ_base={"REMOTE_ADDR": "192.0.2.200"}).status_code
                 for i in range(6)]
        assert codes == [200] * 5 + [429]  # per address, whatever the account
        db.session.remove()
        db.engine.dispose()


def test_reset_tokens_are_masked_in_logs():
    from auditapp.security import mask_secrets

    line = '"GET /auth/reset/eyJ1Ijo.abc-DEF_1 HTTP/1.1" 200'
    assert mask_secrets(line) == '"GET /auth/reset/*** HTTP/1.1" 200'


def test_own_email_address_needs_the_password(client, auth, chain):
    auth.login("MS-101")
    page = client.get("/auth/account").get_data(as_text=True)
    assert 'id="email-form"' in page
    r = client.post("/auth/account/email", data={"email": "alice@example.com",
                                                 "password": "wrong-one"})
    assert r.status_code == 400 and "That is not your current password." in r.get_data(
        as_text=True)
    assert 'value="alice@example.com"' in r.get_data(as_text=True)  # what was typed stays
    r = client.post("/auth/account/email", data={"email": "not-an-address",
                                                 "password": PASSWORD})
    assert r.status_code == 400 and "Enter a valid email address." in r.get_data(as_text=True)
    assert _user("MS-101").email is None
    r = client.post("/auth/account/email", data={"email": "alice@example.com",
                                                 "password": PASSWORD}, follow_redirects=True)
    assert "Email address saved." in r.get_data(as_text=True)
    assert _user("MS-101").email == "alice@example.com"
    client.post("/auth/account/email", data={"email": "", "password": PASSWORD})
    assert _user("MS-101").email is None
