"""Redis or the database down: /healthz says so (503, naming what failed), report jobs run
in the request instead of answering 500. (Logging in without Redis: test_login_limits.py.)"""

from __future__ import annotations

import io
import socket

import pytest
from pypdf import PdfReader

from auditapp import create_app

from .factories import make_visit

LIVE_REDIS = "redis://127.0.0.1:6379/0"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dead_redis_url() -> str:
    return f"redis://127.0.0.1:{_closed_port()}/0"


def test_healthz_without_redis_configured(app, client):
    app.config["REDIS_URL"] = None
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok",
                            "checks": {"database": "ok", "redis": "not configured"}}
    assert r.headers["Cache-Control"] == "no-store"


def test_healthz_names_redis_when_it_is_down(app, client, dead_redis_url):
    app.config["REDIS_URL"] = dead_redis_url
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "unavailable",
                            "checks": {"database": "ok", "redis": "failed"}}


def test_healthz_with_a_live_redis(app, client):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(LIVE_REDIS, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"Redis is not reachable at {LIVE_REDIS}")
    app.config["REDIS_URL"] = LIVE_REDIS
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_healthz_names_the_database_when_it_is_down(tmp_path):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"postgresql://postgres@127.0.0.1:{_closed_port()}/none",
        "UPLOAD_FOLDER": str(tmp_path / "files"),
    })
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["checks"] == {"database": "failed", "redis": "not configured"}


# --- report jobs ------------------------------------------------------------------------------


def test_report_job_runs_in_the_request_while_redis_is_down(app, client, auth, chain,
                                                            dead_redis_url, caplog):
    make_visit(chain, chain.stores[0])
    app.config.update(REPORT_SYNC_MAX_STORES=0, REDIS_URL=dead_redis_url)
    auth.login("hq@example.com")
    r = client.get("/hq/reports/brand.pdf?month=2026-05")
    assert r.status_code == 302
    assert "Redis unreachable" in caplog.text
    assert "Your report is ready." in client.get(r.location).get_data(as_text=True)
    job_id = r.location.rstrip("/").rsplit("/", 1)[-1]
    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "finished"
    with client.get(body["download_url"]) as pdf:
        assert pdf.status_code == 200
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "上海南京西路店" in text


def test_queued_job_status_says_the_queue_is_unreachable(app, client, auth, chain,
                                                         dead_redis_url):
    app.config["REDIS_URL"] = dead_redis_url
    auth.login("hq@example.com")
    job_id = "ab" * 16  # queued on Redis before it went down
    r = client.get(f"/hq/reports/jobs/{job_id}")
    assert r.status_code == 503
    assert "report queue cannot be reached" in r.get_data(as_text=True)
    r = client.get(f"/hq/reports/jobs/{job_id}.json",
                   headers={"Accept": "application/json"})
    assert r.status_code == 503
    assert "report queue cannot be reached" in r.get_json()["message"]
