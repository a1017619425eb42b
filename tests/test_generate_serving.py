"""Production serving: X-Forwarded-* headers count only behind a declared reverse proxy;
SQLite shared by several workers."""

from __future__ import annotations

from flask import request

from auditapp import create_app

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def _echo_app(tmp_path, **config):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "UPLOAD_FOLDER": str(tmp_path / "files"), **config})
    app.add_url_rule("/_echo", "echo", lambda: {"addr": request.remote_addr,
                                                "scheme": request.scheme})
    return app


def test_forwarded_headers_are_ignored_without_a_declared_proxy(tmp_path, monkeypatch):
    monkeypatch.delenv("PROXY_FIX_X_FOR", raising=False)
    client = _echo_app(tmp_path).test_client()
    data = client.get("/_echo", headers=FORWARDED,
                      environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()
    assert data == {"addr": "10.0.0.5", "scheme": "http"}


def test_one_declared_proxy_gives_the_client_address_and_scheme(tmp_path):
    client = _echo_app(tmp_path, PROXY_FIX_X_FOR=1).test_client()
    data = client.get("/_echo", headers=FORWARDED,
                      environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()
    assert data == {"addr": "203.0.113.9", "scheme": "https"}
    assert client.get("/healthz", headers=FORWARDED).get_json()["status"] == "ok"


def test_proxy_setting_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "1")
    client = _echo_app(tmp_path).test_client()
    data = client.get("/_echo", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"},
                      environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()
    assert data["addr"] == "203.0.113.9"  # only the last hop, added by our proxy, is trusted


def test_sqlite_file_is_served_with_a_write_ahead_log(tmp_path):
    """Several workers share one SQLite file: WAL, durable commits, a busy timeout."""
    from sqlalchemy import text

    from auditapp.extensions import db

    app = create_app({"TESTING": True, "UPLOAD_FOLDER": str(tmp_path / "files"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wal.sqlite'}"})
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        db.engine.dispose()
