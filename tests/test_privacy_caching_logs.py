"""Pages that belong to someone are not kept by caches, and assignment-link tokens do not
end up in the access logs (gunicorn's in production, werkzeug's in development)."""

from __future__ import annotations

import http.client
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from auditapp import create_app
from auditapp.extensions import db

from .factories import make_chain
from .shopper_helpers import make_assignment

ROOT = Path(__file__).resolve().parent.parent
NO_STORE = "private, no-store"


def test_signed_in_and_token_pages_are_not_cached(client, auth, chain):
    visit = make_assignment(chain)
    r = client.get(f"/shopper/t/{visit.access_token}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == NO_STORE
    r = client.get(f"/api/shopper/visits/{visit.id}?token={visit.access_token}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == NO_STORE
    assert client.get("/auth/login").headers["Cache-Control"] == NO_STORE  # a CSRF token
    auth.login("hq@example.com")
    for url in ("/hq/", "/hq/people", f"/hq/visits/{visit.id}"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == NO_STORE, url
    # static files keep their own caching
    with client.get("/static/js/shopper.js") as r:
        assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")


def test_development_server_log_masks_link_tokens(live_server, chain, caplog):
    visit = make_assignment(chain)
    token = visit.access_token
    caplog.set_level(logging.INFO, logger="werkzeug")
    for path in (f"/shopper/t/{token}", f"/api/shopper/visits/{visit.id}?token={token}"):
        with urllib.request.urlopen(live_server + path) as response:
            assert response.status == 200
    assert "/shopper/t/*** " in caplog.text
    assert "token=*** " in caplog.text
    assert token not in caplog.text


def test_flask_error_log_masks_link_tokens(app, client, chain, caplog):
    token = "x" * 43
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/shopper/t/<token>/boom")
    def boom(token):
        raise RuntimeError("boom")

    caplog.set_level(logging.ERROR)
    assert client.get(f"/shopper/t/{token}/boom").status_code == 500
    assert "Exception on /shopper/t/***/boom" in caplog.text
    assert token not in caplog.text


# --- gunicorn, as in production -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_gunicorn_access_log_masks_link_tokens(tmp_path):
    pytest.importorskip("gunicorn")
    database = tmp_path / "g.sqlite"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "UPLOAD_FOLDER": str(tmp_path / "files")})
    with app.app_context():
        db.create_all()
        chain = make_chain()
        visit = make_assignment(chain)
        token, visit_id = visit.access_token, visit.id
        db.session.remove()
        db.engine.dispose()

    port, access_log = _free_port(), tmp_path / "access.log"
    env = {**os.environ, "AUDITAPP_ENV": "development", "SECRET_KEY": secrets.token_hex(16),
           "DATABASE_URL": f"sqlite:///{database}", "AUDITAPP_INSTANCE": str(tmp_path / "i"),
           "UPLOAD_FOLDER": str(tmp_path / "files"), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "1", "LOG_LEVEL": "warning",
           "GUNICORN_ACCESS_LOG": str(access_log),
           "GUNICORN_ERROR_LOG": str(tmp_path / "error.log")}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                             "wsgi:app"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it serves (no timing is measured)
            assert proc.poll() is None, (tmp_path / "error.log").read_text()
            try:
                if _get(port, "/healthz") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        assert _get(port, f"/shopper/t/{token}") == 200
        assert _get(port, f"/api/shopper/visits/{visit_id}?token={token}") == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    log = access_log.read_text()
    assert '"GET /shopper/t/*** HTTP/1.1" 200' in log
    assert f'"GET /api/shopper/visits/{visit_id}?token=*** HTTP/1.1" 200' in log
    assert token not in log
