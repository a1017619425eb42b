"""Reports pages in a real Chromium: they fit a phone, and the job page follows a
background report until its download link appears (JS polling)."""

from __future__ import annotations

import secrets

import pytest

from .conftest import browser_login, screenshot
from .factories import make_visit

pytestmark = pytest.mark.browser


def test_reports_pages_fit_a_phone(live_server, phone, desktop, chain):
    make_visit(chain, chain.stores[0])
    browser_login(phone, live_server, "m.e001@example.com")
    phone.goto(f"{live_server}/manager/reports?month=2026-05")
    assert "上海南京西路店" in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "manager-reports-phone.png")
    browser_login(desktop, live_server, "hq@example.com")
    desktop.goto(f"{live_server}/hq/reports?month=2026-05")
    assert desktop.locator("a", has_text="Reports").count() >= 1
    screenshot(desktop, "hq-reports-desktop.png")


def test_job_page_shows_download_when_ready(app, live_server, phone, chain):
    redis = pytest.importorskip("redis")
    from rq import Queue, SimpleWorker

    conn = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    make_visit(chain, chain.stores[0])
    name = f"auditapp-test-{secrets.token_hex(6)}"
    app.config.update(REDIS_URL="redis://127.0.0.1:6379/0", RQ_QUEUE=name,
                      REPORT_SYNC_MAX_STORES=0)
    queue = Queue(name, connection=conn)
    # a worker listens on the queue (else the report is built in the request)
    listener = SimpleWorker([queue], connection=conn, name=f"listener-{secrets.token_hex(4)}")
    listener.register_birth()
    try:
        browser_login(phone, live_server, "hq@example.com")
        phone.goto(f"{live_server}/hq/reports?month=2026-05")
        phone.click("text=Download brand summary")
        phone.wait_for_url("**/hq/reports/jobs/*")
        assert phone.locator("#job-refresh").is_visible()
        assert not phone.locator("#job-download").is_visible()
        screenshot(phone, "report-job-waiting-phone.png")
        SimpleWorker([queue], connection=conn).work(burst=True)
        phone.locator("#job-download").wait_for(state="visible", timeout=20_000)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(phone, "report-job-ready-phone.png")
    finally:
        listener.register_death()
        conn.delete(listener.key)
        for job_id in queue.finished_job_registry.get_job_ids():
            conn.delete(f"rq:job:{job_id}")
        queue.delete(delete_jobs=True)
        conn.close()
