"""Sessions can be revoked: logging out, a new password or a deactivation ends the session
cookie and the remember-me cookie (also copies of them); a session is bound to the client
address the server sees, not to one the client claims in ``X-Forwarded-For``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from auditapp import create_app
from auditapp.extensions import db
from auditapp.models import User

from .factories import PASSWORD


def _forget_cached_user(app: Flask) -> None:
    """The ``app`` fixture keeps one app context (so one ``g``) open across requests, and
    Flask-Login caches the user in ``g``: forget it before each request, as a server does."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


@pytest.fixture(autouse=True)
def _fresh_user_per_request(request) -> None:
    if "app" in request.fixturenames:
        _forget_cached_user(request.getfixturevalue("app"))


def _login(client: FlaskClient, username: str, *, remember: bool = False, **kwargs):
    data = {"username": username, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _is_refused(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.location


def _copy_cookie(source: FlaskClient, target: FlaskClient, name: str) -> None:
    cookie = source.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    target.set_cookie(name, cookie.value)


def test_session_cookie_is_refused_after_logout(app, client, chain):
    _login(client, "hq@example.com")
    stolen = app.test_client()
    _copy_cookie(client, stolen, "session")
    assert stolen.get("/hq/").status_code == 200

    r = client.post("/auth/logout")
    assert r.headers["Clear-Site-Data"] == '"cache"'
    assert _is_refused(client.get("/hq/"))
    # the copy taken before the logout (or the old cookie replayed) no longer works
    assert _is_refused(stolen.get("/hq/"))


def test_remember_cookie_lasts_30_days_and_is_refused_after_logout(app, client, chain):
    _login(client, "hq@example.com", remember=True)
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    lifetime = cookie.expires - cookie.expires.now(cookie.expires.tzinfo)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)

    later = app.test_client()  # the browser restarted: only the remember-me cookie is left
    _copy_cookie(client, later, "remember_token")
    assert later.get("/hq/").status_code == 200
    assert later.get("/hq/").status_code == 200  # and on the next request

    client.post("/auth/logout")
    replay = app.test_client()
    replay.set_cookie("remember_token", cookie.value)
    assert _is_refused(replay.get("/hq/"))
    assert _is_refused(later.get("/hq/"))


def test_hq_password_reset_ends_the_users_sessions(app, client, chain):
    shopper = chain.shoppers[0]
    phone = app.test_client()
    _login(phone, shopper.username, remember=True)
    restarted = app.test_client()
    _copy_cookie(phone, restarted, "remember_token")
    assert phone.get("/shopper/").status_code == 200
    assert restarted.get("/shopper/").status_code == 200

    _login(client, "hq@example.com")
    form = client.get(f"/hq/people/{shopper.id}/edit").get_data(as_text=True)
    assert shopper.username in form
    r = client.post(f"/hq/people/{shopper.id}/edit", data={
        "username": shopper.username, "name": shopper.name, "role": "shopper",
        "password": "a brand new passphrase", "locale": "",
    })
    assert r.status_code == 302, r.get_data(as_text=True)

    assert _is_refused(phone.get("/shopper/"))
    assert _is_refused(restarted.get("/shopper/"))
    # the new password works
    again = app.test_client()
    r = again.post("/auth/login", data={"username": shopper.username,
                                        "password": "a brand new passphrase"})
    assert r.status_code == 302
    assert again.get("/shopper/").status_code == 200


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(app, client, chain):
    manager = chain.managers[0]
    desk = app.test_client()
    _login(desk, manager.username, remember=True)
    assert desk.get("/manager/").status_code == 200

    _login(client, "hq@example.com")
    assert client.post(f"/hq/people/{manager.id}/active",
                       data={"active": "0"}).status_code == 302
    assert _is_refused(desk.get("/manager/"))
    assert client.post(f"/hq/people/{manager.id}/active",
                       data={"active": "1"}).status_code == 302
    assert db.session.get(User, manager.id).active
    assert _is_refused(desk.get("/manager/"))


def test_logging_in_again_after_a_logout_works(client, chain):
    _login(client, "qa@example.com")
    client.post("/auth/logout")
    _login(client, "qa@example.com")
    assert client.get("/hq/qa").status_code == 200


# --- the session is bound to the address the server trusts -------------------------------

VICTIM, ATTACKER, PROXY = "203.0.113.9", "198.51.100.7", "10.0.0.1"


def test_forged_forwarded_for_does_not_carry_a_stolen_session(client, chain):
    """No proxy declared: the peer address counts, X-Forwarded-For is the client's word."""
    _login(client, "hq@example.com", environ_base={"REMOTE_ADDR": VICTIM})
    assert client.get("/hq/", environ_base={"REMOTE_ADDR": VICTIM}).status_code == 200
    # the cookie used from another address, claiming to be the victim's
    r = client.get("/hq/", headers={"X-Forwarded-For": VICTIM},
                   environ_base={"REMOTE_ADDR": ATTACKER})
    assert _is_refused(r)


@pytest.fixture
def proxied_app(tmp_path, database_url):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{tmp_path / 'p.sqlite'}",
        "UPLOAD_FOLDER": str(tmp_path / "files"),
        "PROXY_FIX_X_FOR": 1,
    })
    with app.app_context():
        if database_url is None:
            db.create_all()
        yield app
        db.session.remove()
        if database_url is None:
            db.engine.dispose()


def test_behind_one_proxy_only_the_address_it_appends_counts(proxied_app):
    import sqlalchemy as sa

    from .factories import make_chain

    make_chain()
    _forget_cached_user(proxied_app)
    client = proxied_app.test_client()
    via_proxy = {"REMOTE_ADDR": PROXY}
    try:
        _login(client, "hq@example.com", environ_base=via_proxy,
               headers={"X-Forwarded-For": VICTIM})
        assert client.get("/hq/", headers={"X-Forwarded-For": VICTIM},
                          environ_base=via_proxy).status_code == 200
        # the attacker writes the victim's address first; the proxy appends the real one
        r = client.get("/hq/", headers={"X-Forwarded-For": f"{VICTIM}, {ATTACKER}"},
                       environ_base=via_proxy)
        assert _is_refused(r)
    finally:
        # the requests ran in the fixture's app context, so its session still holds the
        # last request's transaction: end it, or TRUNCATE waits for it forever
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.engine.dispose()
