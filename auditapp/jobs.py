"""Background jobs: long reports run on an RQ queue when Redis is configured.

With ``REDIS_URL`` set, ``start_report`` enqueues ``run_report`` on the RQ queue named by
``RQ_QUEUE`` (default ``auditapp``); run a worker with::

    rq worker --url $REDIS_URL auditapp

Without Redis the job runs at once, in the request (plain synchronous fallback), and its
status is kept in ``storage`` like the output. When Redis is configured but unreachable,
a new job takes the same synchronous path (with a logged warning), and asking for a queued
job's status answers 503 with a message instead of a 500. Either way the generated file goes
through ``auditapp.storage`` and the status is read with ``job_status``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ServiceUnavailable

from . import storage

log = logging.getLogger(__name__)

QUEUED, STARTED, FINISHED, FAILED = "queued", "started", "finished", "failed"
JOB_TIMEOUT = 30 * 60
RESULT_TTL = 7 * 24 * 3600
_JOB_ID_CHARS = set("abcdef0123456789")
#: Seconds to wait for Redis before taking it as down (connecting; each command).
REDIS_CONNECT_TIMEOUT, REDIS_TIMEOUT = 1, 5


class QueueUnavailable(ServiceUnavailable):
    """Redis, which holds the queued jobs, does not answer."""

    description = _l("The report queue cannot be reached just now. "
                     "Please try again in a few minutes.")


def redis_connection():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                          socket_timeout=REDIS_TIMEOUT)


def queue_name() -> str:
    return current_app.config.get("RQ_QUEUE", "auditapp")


def _status_key(job_id: str) -> str:
    return f"jobs/{job_id}.json"


def valid_job_id(job_id: str) -> bool:
    return len(job_id) == 32 and set(job_id) <= _JOB_ID_CHARS


# --- the work itself -----------------------------------------------------------------------


def build_brand_summary(params: dict, progress: Callable[[int], None]) -> tuple[str, str]:
    """Render the brand summary PDF; returns (storage key, download file name)."""
    from .analytics import Period
    from .extensions import db
    from .models import Region
    from .reports.context import brand_summary_context
    from .reports.pdf import render_brand_summary

    period = Period.month(params["month"])
    region = db.session.get(Region, params["region_id"]) if params.get("region_id") else None
    ctx = brand_summary_context(period, region, progress=progress)
    progress(75)
    data = render_brand_summary(ctx, report_date=date.today())
    progress(95)
    key = storage.new_key("reports", ".pdf")
    storage.save(key, data)
    suffix = f"-{region.code}" if region else ""
    return key, f"brand-summary-{period.label}{suffix}.pdf"


BUILDERS: dict[str, Callable[[dict, Callable[[int], None]], tuple[str, str]]] = {
    "brand_summary": build_brand_summary,
}


def _app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    from . import create_app

    return create_app()


def run_report(kind: str, params: dict, job_id: str | None = None) -> dict:
    """Run one report job (in an RQ worker or in-process). Returns its result dict."""
    app = _app()
    with app.app_context(), app.test_request_context("/"), force_locale(
        params.get("locale") or "en"
    ):
        rq_job = None
        try:
            from rq import get_current_job

            rq_job = get_current_job()
        except Exception:  # noqa: BLE001 - no RQ context
            rq_job = None

        def progress(pct: int) -> None:
            if rq_job is not None:
                rq_job.meta["progress"] = pct
                rq_job.save_meta()
            elif job_id:
                _write_status(job_id, {"status": STARTED, "progress": pct})

        key, filename = BUILDERS[kind](params, progress)
        return {"key": key, "filename": filename}


def _write_status(job_id: str, status: dict) -> None:
    storage.save(_status_key(job_id), json.dumps(status).encode())


# --- starting and following jobs ---------------------------------------------------------


def start_report(kind: str, params: dict) -> str:
    """Start a report job; returns its id. Enqueues on RQ when Redis is configured, else
    runs it now."""
    if kind not in BUILDERS:
        raise ValueError(f"Unknown report {kind!r}.")
    job_id = secrets.token_hex(16)
    connection = redis_connection()
    if connection is not None:
        from redis.exceptions import RedisError
        from rq import Queue

        try:
            Queue(queue_name(), connection=connection).enqueue(
                "auditapp.jobs.run_report",
                kind,
                params,
                job_id=job_id,
                job_timeout=JOB_TIMEOUT,
                result_ttl=RESULT_TTL,
                failure_ttl=RESULT_TTL,
                meta={"progress": 0, "kind": kind},
            )
            return job_id
        except RedisError as exc:
            log.warning("Redis unreachable (%s): report job %s runs in the request", exc,
                        job_id)
    _write_status(job_id, {"status": STARTED, "progress": 0})
    try:
        result = run_report(kind, params, job_id)
    except Exception:
        log.exception("Report job %s failed", job_id)
        _write_status(job_id, {"status": FAILED, "progress": 100})
    else:
        _write_status(job_id, {"status": FINISHED, "progress": 100, **result})
    return job_id


def job_status(job_id: str) -> dict[str, Any] | None:
    """``{"status", "progress", "key", "filename"}`` of a job, or None if unknown.
    Raises ``QueueUnavailable`` (503) when the job may be queued but Redis does not answer."""
    if not valid_job_id(job_id):
        return None
    key = _status_key(job_id)
    if storage.exists(key):  # it ran in a request (no Redis, or Redis was down)
        return json.loads(storage.load(key))
    connection = redis_connection()
    if connection is None:
        return None
    from redis.exceptions import RedisError

    try:
        return _rq_job_status(job_id, connection)
    except RedisError as exc:
        log.warning("Redis unreachable (%s): status of job %s unknown", exc, job_id)
        raise QueueUnavailable() from exc


def _rq_job_status(job_id: str, connection) -> dict[str, Any] | None:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None
    state = job.get_status(refresh=True)
    state = getattr(state, "value", state)
    out: dict[str, Any] = {"status": FAILED if state in ("failed", "stopped", "canceled")
                           else FINISHED if state == "finished"
                           else STARTED if state == "started" else QUEUED,
                           "progress": int((job.meta or {}).get("progress", 0))}
    if out["status"] == FINISHED:
        result = job.return_value() or {}
        out.update(progress=100, key=result.get("key"), filename=result.get("filename"))
    return out
