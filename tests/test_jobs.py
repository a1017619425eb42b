"""Big brand summaries run as background jobs: on RQ with Redis, else synchronously."""

from __future__ import annotations

import io
import secrets

import pytest
from pypdf import PdfReader

from .factories import make_visit

REDIS_URL = "redis://127.0.0.1:6379/0"


def _force_job(app) -> None:
    app.config["REPORT_SYNC_MAX_STORES"] = 0  # every summary becomes a job


def _download(client, url: str) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        return response.get_data()


def test_small_chain_renders_in_the_request(client, auth, chain):
    make_visit(chain, chain.stores[0])
    auth.login("hq@example.com")
    data = _download(client, "/hq/reports/brand.pdf?month=2026-05")
    assert data.startswith(b"%PDF")


def test_sync_fallback_without_redis(app, client, auth, chain):
    make_visit(chain, chain.stores[0])
    _force_job(app)
    app.config["REDIS_URL"] = None
    auth.login("hq@example.com")
    response = client.get("/hq/reports/brand.pdf?month=2026-05")
    assert response.status_code == 302
    status_url = response.location
    page = client.get(status_url).get_data(as_text=True)
    assert "Your report is ready." in page
    job_id = status_url.rstrip("/").rsplit("/", 1)[-1]
    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "finished" and body["progress"] == 100
    data = _download(client, body["download_url"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "上海南京西路店" in text
    assert client.get("/hq/reports/jobs/" + "0" * 32 + ".json").status_code == 404
    assert client.get("/hq/reports/jobs/not-a-job").status_code == 404
    auth.logout()
    auth.login("m.e001@example.com")
    assert client.get(status_url).status_code == 403


@pytest.fixture
def redis_conn():
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    yield conn
    conn.close()


def test_rq_queue_and_worker(app, client, auth, chain, redis_conn):
    from rq import Queue, SimpleWorker

    make_visit(chain, chain.stores[2])
    _force_job(app)
    queue_name = f"auditapp-test-{secrets.token_hex(6)}"
    app.config.update(REDIS_URL=REDIS_URL, RQ_QUEUE=queue_name)
    queue = Queue(queue_name, connection=redis_conn)
    job_id = None
    try:
        auth.login("hq@example.com")
        response = client.get("/hq/reports/brand.pdf?month=2026-05")
        assert response.status_code == 302
        job_id = response.location.rstrip("/").rsplit("/", 1)[-1]
        assert len(queue) == 1
        body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
        assert body["status"] == "queued" and "download_url" not in body
        page = client.get(response.location).get_data(as_text=True)
        assert 'id="job-refresh"' in page and "reports.js" in page
        assert client.get(f"/hq/reports/jobs/{job_id}/download").status_code == 404

        worker = SimpleWorker([queue], connection=redis_conn)
        assert worker.work(burst=True)

        body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
        assert body["status"] == "finished", body
        data = _download(client, body["download_url"])
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert "北京王府井店" in text
    finally:
        if job_id:
            from rq.job import Job

            Job.fetch(job_id, connection=redis_conn).delete()
        queue.delete(delete_jobs=True)
