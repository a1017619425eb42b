"""Failed logins are limited per account and per client address; every attempt costs the
same password-hash work; a Redis outage does not stop anyone from logging in."""

from __future__ import annotations

import logging
import socket

import pytest

from auditapp import create_app
from auditapp.extensions import db, limiter

from .factories import PASSWORD, make_chain

OFFICE, ELSEWHERE, ATTACKERS = "192.0.2.10", "192.0.2.99", [f"198.51.100.{i}" for i in range(12)]


def _app(tmp_path, **config):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'l.sqlite'}",
        "UPLOAD_FOLDER": str(tmp_path / "files"),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        **config,
    })
    with app.app_context():
        db.create_all()
        make_chain()
        db.session.remove()
    return app


@pytest.fixture
def limited_app(tmp_path):
    app = _app(tmp_path, LOGIN_LIMIT_PER_ACCOUNT="10 per 15 minutes",
               LOGIN_LIMIT_PER_IP="30 per 15 minutes")
    yield app
    with app.app_context():
        db.engine.dispose()


def _attempt(client, username: str, password: str, address: str) -> int:
    return client.post("/auth/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_one_address_does_not_lock_out_the_other_accounts(limited_app):
    """Someone in the office mistypes ten times: their account waits, colleagues behind the
    same address still log in."""
    for _ in range(10):
        assert _attempt(limited_app.test_client(), "qa@example.com", "bad", OFFICE) == 200
    assert _attempt(limited_app.test_client(), "qa@example.com", PASSWORD, OFFICE) == 429
    assert _attempt(limited_app.test_client(), "hq@example.com", PASSWORD, OFFICE) == 302
    assert _attempt(limited_app.test_client(), "m.e001@example.com", PASSWORD, OFFICE) == 302


def test_one_account_is_protected_against_guessing_from_many_addresses(limited_app):
    for address in ATTACKERS[:10]:
        assert _attempt(limited_app.test_client(), "hq@example.com", "guess", address) == 200
    r = limited_app.test_client().post(
        "/auth/login", data={"username": "HQ@example.com ", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": ATTACKERS[10]})
    assert r.status_code == 429
    assert b"Too many attempts" in r.data
    # other accounts are not affected
    assert _attempt(limited_app.test_client(), "qa@example.com", PASSWORD, ELSEWHERE) == 302


def test_one_address_trying_many_accounts_is_limited(limited_app):
    names = [f"user{i}@example.com" for i in range(30)]
    for name in names:
        assert _attempt(limited_app.test_client(), name, "guess", ATTACKERS[0]) == 200
    assert _attempt(limited_app.test_client(), "qa@example.com", PASSWORD, ATTACKERS[0]) == 429
    assert _attempt(limited_app.test_client(), "qa@example.com", PASSWORD, ELSEWHERE) == 302


# --- no account probing by response time ----------------------------------------------------


def test_every_attempt_costs_one_password_hash(client, chain, monkeypatch):
    """A deactivated account used to answer without hashing (~13x faster than an active
    one), which tells an attacker which accounts exist. Count the hash computations instead
    of timing them: one, of the same kind, for every attempt."""
    import werkzeug.security

    real = werkzeug.security._hash_internal
    methods: list[str] = []

    def counting(method: str, salt: str, password: str):
        methods.append(method.split(":")[0])
        return real(method, salt, password)

    chain.qa.active = False
    chain.shoppers[2].password_hash = ""  # a link-only shopper without a password
    db.session.commit()
    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    attempts = {
        "unknown": ("nobody@example.com", PASSWORD, 200),
        "wrong password": ("hq@example.com", "wrong", 200),
        "deactivated": ("qa@example.com", PASSWORD, 200),
        "deactivated, wrong password": ("qa@example.com", "wrong", 200),
        "no password": (chain.shoppers[2].username, "", 200),
        "right": ("hq@example.com", PASSWORD, 302),
    }
    for label, (username, password, status) in attempts.items():
        methods.clear()
        r = client.post("/auth/login", data={"username": username, "password": password or "x"})
        assert r.status_code == status, label
        assert methods == ["scrypt"], label
        client.post("/auth/logout")


# --- Redis down -----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_down_app(tmp_path):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    app = _app(tmp_path, RATELIMIT_STORAGE_URI=url, REDIS_URL=url)
    yield app
    with app.app_context():
        db.engine.dispose()
    # the limiter is one object per process; do not leave "storage dead" to the next test
    limiter._storage_dead = False


def test_login_works_while_redis_is_down(redis_down_app, caplog):
    caplog.set_level(logging.WARNING)
    client = redis_down_app.test_client()
    assert _attempt(client, "hq@example.com", PASSWORD, OFFICE) == 302
    assert client.get("/hq/", environ_base={"REMOTE_ADDR": OFFICE}).status_code == 200
    assert "falling back to in-memory storage" in caplog.text
    # failures are still counted, in this worker's memory
    for _ in range(10):
        assert _attempt(redis_down_app.test_client(), "qa@example.com", "bad", OFFICE) == 200
    assert _attempt(redis_down_app.test_client(), "qa@example.com", PASSWORD, OFFICE) == 429
