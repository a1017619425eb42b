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
        assert s.get("_user_id") == chain.hq.get_id()


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


# --- the lockout shared through Redis (as in production, one counter for every worker) ----

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


@pytest.fixture
def redis_apps(tmp_path):
    """Two app instances (two 'workers') sharing one database and one Redis counter, under
    a key prefix of their own so parallel runs do not interfere."""
    import secrets

    redis_client = _redis_or_skip()
    prefix = f"auditapp-test-{secrets.token_hex(6)}"
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.sqlite'}",
        "UPLOAD_FOLDER": str(tmp_path / "files"),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    first, second = create_app(config), create_app(config)
    with first.app_context():
        db.create_all()
        make_chain()
        db.session.remove()
    yield first, second, redis_client, prefix
    for key in redis_client.scan_iter(f"*{prefix}*"):
        redis_client.delete(key)
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_lockout_is_shared_through_redis(redis_apps):
    first, second, redis_client, prefix = redis_apps
    bad = {"username": "hq@example.com", "password": "bad"}
    for i in range(10):
        app = first if i % 2 else second  # failures spread over two workers
        with app.app_context():
            assert app.test_client().post("/auth/login", data=bad).status_code == 200
    for app in (first, second):
        with app.app_context():
            r = app.test_client().post("/auth/login", data={"username": "hq@example.com",
                                                             "password": "secret-pass"})
            assert r.status_code == 429
            assert b"Too many attempts" in r.data
    # the counter lives in Redis under this run's prefix
    assert list(redis_client.scan_iter(f"*{prefix}*"))


# --- no user enumeration -------------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(client, chain):
    def attempt(username: str, password: str) -> tuple[int, str]:
        r = client.post("/auth/login", data={"username": username, "password": password})
        text = r.get_data(as_text=True)
        # the form echoes the typed username; compare everything else
        return r.status_code, text.replace(username, "USER")

    unknown = attempt("nobody@example.com", "secret-pass")
    wrong = attempt("hq@example.com", "wrong-pass")
    chain.qa.active = False
    db.session.commit()
    inactive = attempt("qa@example.com", "secret-pass")
    assert unknown[0] == wrong[0] == inactive[0] == 200
    assert "do not match an active account" in unknown[1]
    assert unknown[1] == wrong[1] == inactive[1]


@pytest.mark.real_password_hashing
def test_passwords_are_stored_hashed(chain):
    from auditapp.models import User

    user = User(username="new@example.com", role="hq_admin", name="New")
    user.set_password("a long passphrase")
    assert "a long passphrase" not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password("a long passphrase")
    assert not user.check_password("A long passphrase")


# --- assignment link tokens ----------------------------------------------------------------


def test_assignment_tokens_are_unguessable_and_expire(client, chain):
    from datetime import timedelta

    from auditapp import scheduling
    from auditapp.models import Visit, utcnow
    from auditapp.visits import new_access_token

    tokens = {new_access_token() for _ in range(200)}
    assert len(tokens) == 200
    # token_urlsafe: 6 bits a character; at least 128 bits
    assert all(len(t) * 6 >= 128 for t in tokens)

    chain.shoppers[0].tied_stores.append(chain.stores[0])
    db.session.commit()
    plan = scheduling.generate_month("2026-06")
    db.session.commit()
    assert plan.created
    for visit in plan.created:
        assert len(visit.access_token) * 6 >= 128
        assert visit.token_expires_at is not None

    visit = plan.created[0]
    visit.token_expires_at = utcnow() + timedelta(days=1)
    db.session.commit()
    token = visit.access_token
    assert client.get(f"/shopper/t/{token}").status_code == 200
    visit.token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/shopper/t/{token}").status_code == 404
    assert client.post(f"/shopper/t/{token}", data={}).status_code == 404
    h = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/shopper/visits/{visit.id}", headers=h).status_code == 404
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", headers=h, json={})
    assert r.status_code == 404
    assert db.session.get(Visit, visit.id).status == "assigned"
