"""CSRF protection on every state-changing route, and the session cookie's flags.

With ``WTF_CSRF_ENABLED`` on (TestingConfig turns it off for the other tests), every
POST/PUT/PATCH/DELETE route is called, as a role the access policy allows, without a CSRF
token: each must answer 400. The shopper API may also be used with the assignment's
bearer token, which no browser sends by itself; such requests carry no cookie and need no
CSRF token, but the same API used with the session cookie does.
"""

from __future__ import annotations

import re

import pytest
from flask import g

from auditapp import create_app
from auditapp.config import ProductionConfig
from auditapp.extensions import db
from auditapp.models import Visit

from .access_policy import allowed
from .factories import PASSWORD, make_chain
from .test_access_matrix import LOGINS, build_samples, url_for_rule

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
#: Preferred role to call a route as (the first the policy allows).
ROLE_ORDER = ("hq", "manager_a", "shopper", "qa", "other_shopper", "manager_b", "anonymous")
META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def fresh_g() -> None:
    """The ``app`` fixture keeps one app context (so one ``g``) across requests; Flask-Login
    and Flask-WTF cache the user and the CSRF token there: drop them between clients."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def csrf_token(client, url: str = "/auth/login") -> str:
    fresh_g()
    with client.get(url) as r:
        match = META.search(r.get_data(as_text=True))
    assert match, f"no csrf-token meta tag on {url}"
    return match.group(1)


def login(client, username: str) -> None:
    token = csrf_token(client)
    fresh_g()
    r = client.post("/auth/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token})
    assert r.status_code == 302, f"{username} could not log in with a CSRF token"


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_every_unsafe_route_needs_a_csrf_token(csrf_app, chain):
    samples = build_samples(chain)
    clients = {"anonymous": csrf_app.test_client()}
    problems = []
    for rule in csrf_app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & UNSAFE):
            roles = allowed(rule.endpoint, method)
            role = next((r for r in ROLE_ORDER if r in roles), None)
            if role is None:
                problems.append(f"{rule.endpoint}: no role may call it?")
                continue
            if role not in clients:
                clients[role] = csrf_app.test_client()
                login(clients[role], LOGINS[role])
            url = url_for_rule(rule, samples)
            fresh_g()
            with clients[role].open(url, method=method, data={"x": "1"}) as r:
                # 400 with the CSRF message (not some other validation error)
                if r.status_code != 400 or "eload the page" not in r.get_data(as_text=True):
                    problems.append(f"{method} {url} as {role} without a CSRF token: "
                                    f"{r.status_code}, expected 400 'reload the page'")
    assert not problems, "\n".join(problems)


def test_shopper_api_with_the_session_cookie_needs_the_csrf_header(csrf_app, chain):
    visit = _assigned(chain)
    client = csrf_app.test_client()
    login(client, "MS-101")
    url = f"/api/shopper/visits/{visit.id}/draft"
    fresh_g()
    r = client.put(url, json={"answers": {}})
    assert r.status_code == 400
    assert "reload" in r.get_json()["message"].lower()
    token = csrf_token(client, "/shopper/")
    fresh_g()
    r = client.put(url, json={"answers": {}}, headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()
    # A token from another session is refused.
    other = csrf_app.test_client()
    login(other, "MS-101")
    fresh_g()
    r = other.put(url, json={"answers": {}}, headers={"X-CSRFToken": token})
    assert r.status_code == 400


def test_shopper_api_with_the_bearer_token_sends_no_cookie_and_needs_no_csrf(csrf_app, chain):
    visit = _assigned(chain)
    client = csrf_app.test_client(use_cookies=False)
    r = client.put(f"/api/shopper/visits/{visit.id}/draft", json={"answers": {}},
                   headers={"Authorization": f"Bearer {visit.access_token}"})
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers or "session=" not in r.headers["Set-Cookie"]
    # The bearer token opens its own visit only.
    other = _assigned(chain)
    r = client.put(f"/api/shopper/visits/{other.id}/draft", json={"answers": {}},
                   headers={"Authorization": f"Bearer {visit.access_token}"})
    assert r.status_code == 404


def test_csrf_failure_keeps_the_form_and_explains(csrf_app, chain):
    client = csrf_app.test_client()
    r = client.post("/auth/login", data={"username": "hq@example.com", "password": PASSWORD})
    assert r.status_code == 400
    assert b"Reload the page" in r.data
    assert r.headers["Content-Security-Policy"]


def _assigned(chain) -> Visit:
    from datetime import timedelta

    from auditapp.models import utcnow
    from auditapp.visits import new_access_token

    visit = Visit(kind="mystery", store=chain.stores[0], evaluator=chain.shoppers[0],
                  questionnaire=chain.ms_q, month="2026-05", visit_type="walk_in",
                  status="assigned", access_token=new_access_token(),
                  token_expires_at=utcnow() + timedelta(days=30))
    db.session.add(visit)
    db.session.commit()
    return visit


# --- cookies -------------------------------------------------------------------------------


def _cookie_flags(set_cookie: list[str], name: str) -> str:
    for header in set_cookie:
        if header.startswith(name + "="):
            return header.lower()
    raise AssertionError(f"no {name} cookie in {set_cookie}")


def test_session_cookie_flags_in_development(client, chain):
    r = client.post("/auth/login", data={"username": "hq@example.com", "password": PASSWORD,
                                         "remember": "y"})
    cookies = r.headers.getlist("Set-Cookie")
    session = _cookie_flags(cookies, "session")
    assert "httponly" in session and "samesite=lax" in session
    remember = _cookie_flags(cookies, "remember_token")
    assert "httponly" in remember and "samesite=lax" in remember


def test_production_cookies_are_secure(tmp_path, monkeypatch):
    class Production(ProductionConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.sqlite'}"
        UPLOAD_FOLDER = str(tmp_path / "files")
        SECRET_KEY = "production-test-key"
        RATELIMIT_STORAGE_URI = "memory://"

    app = create_app(Production)
    with app.app_context():
        db.create_all()
        make_chain()
        client = app.test_client()
        login_page = client.get("/auth/login", base_url="https://audit.example.com")
        token = META.search(login_page.get_data(as_text=True)).group(1)
        assert "Strict-Transport-Security" in login_page.headers
        r = client.post("/auth/login", base_url="https://audit.example.com",
                        data={"username": "hq@example.com", "password": PASSWORD,
                              "remember": "y", "csrf_token": token},
                        headers={"Referer": "https://audit.example.com/auth/login"})
        assert r.status_code == 302
        cookies = r.headers.getlist("Set-Cookie")
        for name in ("session", "remember_token"):
            flags = _cookie_flags(cookies, name)
            assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
        db.session.remove()
        db.engine.dispose()
