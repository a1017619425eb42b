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


@pytest.fixture
def rq_queue(app, redis_conn):
    """A queue of this test's own on the real Redis; the app's jobs go to it. Cleans up its
    jobs, workers and de-duplication keys afterwards."""
    from rq import Queue

    name = f"auditapp-test-{secrets.token_hex(6)}"
    app.config.update(REDIS_URL=REDIS_URL, RQ_QUEUE=name)
    queue = Queue(name, connection=redis_conn)
    workers = []
    yield queue, workers
    for worker in workers:
        worker.register_death()
        redis_conn.delete(worker.key)
    for key in redis_conn.scan_iter(f"auditapp:report-job:{name}:*"):
        redis_conn.delete(key)
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    ids = set(queue.get_job_ids())
    for registry in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry):
        ids.update(registry(name, connection=redis_conn).get_job_ids(cleanup=False))
    for job in Job.fetch_many(list(ids), connection=redis_conn):
        if job is not None:
            job.delete()
    queue.delete(delete_jobs=True)


def _listening_worker(queue, workers):
    """A worker that has said it listens on ``queue`` (as `rq worker` does when it starts)."""
    from rq import SimpleWorker

    worker = SimpleWorker([queue], connection=queue.connection,
                          name=f"listener-{secrets.token_hex(4)}")
    worker.register_birth()
    workers.append(worker)
    return worker


@pytest.fixture
def hq_jobs(app, auth, chain, rq_queue):
    """HQ logged in, a visit in 2026-05, and every brand summary a job on ``rq_queue``."""
    make_visit(chain, chain.stores[0])
    _force_job(app)
    auth.login("hq@example.com")
    return rq_queue


def _run_queue(queue, workers) -> None:
    from rq import SimpleWorker

    worker = SimpleWorker([queue], connection=queue.connection,
                          name=f"burst-{secrets.token_hex(4)}")
    workers.append(worker)
    assert worker.work(burst=True)


def _job_id(response) -> str:
    assert response.status_code == 302, response.status_code
    return response.location.rstrip("/").rsplit("/", 1)[-1]


def test_rq_queue_and_worker(client, chain, hq_jobs):
    queue, workers = hq_jobs
    make_visit(chain, chain.stores[2])
    _listening_worker(queue, workers)
    response = client.get("/hq/reports/brand.pdf?month=2026-05")
    job_id = _job_id(response)
    assert len(queue) == 1
    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "queued" and "download_url" not in body and "reason" not in body
    page = client.get(response.location).get_data(as_text=True)
    assert 'id="job-refresh"' in page and "reports.js" in page
    assert 'id="job-retry"' not in page
    assert client.get(f"/hq/reports/jobs/{job_id}/download").status_code == 404

    _run_queue(queue, workers)

    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "finished", body
    data = _download(client, body["download_url"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "北京王府井店" in text


def test_repeated_clicks_share_one_job(client, hq_jobs):
    """The same report asked for again while it is queued (or running) is the same job;
    another month is another job."""
    queue, workers = hq_jobs
    _listening_worker(queue, workers)
    first = _job_id(client.get("/hq/reports/brand.pdf?month=2026-05"))
    again = _job_id(client.get("/hq/reports/brand.pdf?month=2026-05"))
    assert again == first and len(queue) == 1
    other = _job_id(client.get("/hq/reports/brand.pdf?month=2026-04"))
    assert other != first and len(queue) == 2

    _run_queue(queue, workers)
    # once it is finished, asking again builds a fresh one
    fresh = _job_id(client.get("/hq/reports/brand.pdf?month=2026-05"))
    assert fresh != first and len(queue) == 1


def test_no_worker_builds_the_report_in_the_request(client, hq_jobs):
    """Redis is there but no worker listens on the queue: the report is built at once
    instead of waiting for ever."""
    queue, _workers = hq_jobs
    response = client.get("/hq/reports/brand.pdf?month=2026-05")
    job_id = _job_id(response)
    assert len(queue) == 0
    assert "Your report is ready." in client.get(response.location).get_data(as_text=True)
    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "finished"
    assert _download(client, body["download_url"]).startswith(b"%PDF")


def test_queued_job_whose_worker_went_away(client, hq_jobs):
    """Queued while a worker listened, then the worker stopped: the page says so and offers
    to build the report now; the queued job is withdrawn."""
    queue, workers = hq_jobs
    worker = _listening_worker(queue, workers)
    job_id = _job_id(client.get("/hq/reports/brand.pdf?month=2026-05"))
    worker.register_death()

    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "queued" and body["reason"] == "no_worker"
    assert "No report worker is running" in body["message"]
    page = client.get(f"/hq/reports/jobs/{job_id}").get_data(as_text=True)
    assert "No report worker is running" in page and 'id="job-retry"' in page

    response = client.post(f"/hq/reports/jobs/{job_id}/retry")
    new_id = _job_id(response)
    assert new_id != job_id and len(queue) == 0
    assert "Your report is ready." in client.get(response.location).get_data(as_text=True)
    assert client.post("/hq/reports/jobs/" + "0" * 32 + "/retry").status_code == 404


def test_job_whose_worker_died_is_failed_with_a_retry(client, hq_jobs):
    """A worker took the job, reported 75 %, and was killed: once its registration has
    expired (it sends no more heartbeats) the job is reported failed — not "75 %" — and
    "Try again" queues a fresh one."""
    from rq import Queue, SimpleWorker

    queue, workers = hq_jobs
    _listening_worker(queue, workers)
    job_id = _job_id(client.get("/hq/reports/brand.pdf?month=2026-05"))

    # What `rq worker` does when it takes the job, up to the moment it is killed (-9) ...
    doomed = SimpleWorker([queue], connection=queue.connection,
                          name=f"doomed-{secrets.token_hex(4)}")
    doomed.register_birth()
    job, _ = Queue.dequeue_any([queue], None, connection=queue.connection)
    assert job.id == job_id
    doomed.prepare_execution(job)
    doomed.prepare_job_execution(job)
    job.meta["progress"] = 75
    job.save_meta()
    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body == {"status": "started", "progress": 75}
    # ... after which its registration expires, as nothing renews it any more.
    queue.connection.delete(doomed.key)

    body = client.get(f"/hq/reports/jobs/{job_id}.json").get_json()
    assert body["status"] == "failed" and body["reason"] == "worker_lost", body
    page = client.get(f"/hq/reports/jobs/{job_id}").get_data(as_text=True)
    assert "The report worker stopped while building this report." in page
    assert 'id="job-retry"' in page

    response = client.post(f"/hq/reports/jobs/{job_id}/retry")
    new_id = _job_id(response)
    assert new_id != job_id and len(queue) == 1
    _run_queue(queue, workers)
    body = client.get(f"/hq/reports/jobs/{new_id}.json").get_json()
    assert body["status"] == "finished", body
