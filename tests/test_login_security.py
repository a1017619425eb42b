"""Login hardening: throttling after repeated failures, no enumeration, fresh sessions."""

from __future__ import annotations

import pytest

from auditapp import create_app
from auditapp.extensions import db

from .factories import make_chain


@pytest.fixture
def limited_app(tmp_path):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'l.sqlite'}",
        "UPLOAD_FOLDER": str(tmp_path / "files"),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    with app.app_context():
        db.create_all()
        make_chain()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_repeated_failures_lock_the_login_out(limited_app):
    client = limited_app.test_client()
    for _ in range(10):
        r = client.post("/auth/login", data={"username": "hq@example.com", "password": "bad"})
        assert r.status_code == 200
    r = client.post("/auth/login", data={"username": "hq@example.com", "password": "bad"})
    assert r.status_code == 429
    assert b"Too many attempts" in r.data
    # even the right password is refused while locked out
    r = client.post("/auth/login", data={"username": "hq@example.com",
                                         "password": "secret-pass"})
    assert r.status_code == 429


def test_successful_logins_do_not_count(limited_app):
    client = limited_app.test_client()
    for _ in range(15):
        r = client.post("/auth/login", data={"username": "hq@example.com",
                                             "password": "secret-pass"})
        assert r.status_code == 302
        client.post("/auth/logout")


def test_session_is_renewed_on_login(client, chain):
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    client.post("/auth/login", data={"username": "hq@example.com", "password": "secret-pass"})
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.get("_user_id") == str(chain.hq.id)


def test_inactive_account_cannot_log_in(client, chain):
    chain.hq.active = False
    db.session.commit()
    r = client.post("/auth/login", data={"username": "hq@example.com", "password": "secret-pass"})
    assert r.status_code == 200
    assert b"do not match an active account" in r.data


def test_security_headers(client):
    r = client.get("/auth/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
