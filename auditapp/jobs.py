"""Background jobs: long reports run on an RQ queue when Redis is configured.

With ``REDIS_URL`` set, ``start_report`` enqueues ``run_report`` on the RQ queue named by
``RQ_QUEUE`` (default ``auditapp``); run a worker with::

    rq worker --url $REDIS_URL auditapp

The same report asked for again while it is queued or running reuses that job. Without
Redis, or when no worker listens on the queue, the job runs at once, in the request
(synchronous fallback), and its status is kept in ``storage`` like the output. Either way
the generated file goes through ``auditapp.storage`` and the status is read with
``job_status``, which also says when a queued job has no worker to take it and when the
worker running a job died (``retry_report`` then starts it again). When Redis is
configured but unreachable, a new job takes the synchronous path too (with a logged
warning), and asking for a queued job's status answers 503 with a message instead of a 500.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ServiceUnavailable

from . import storage

log = logging.getLogger(__name__)

QUEUED, STARTED, FINISHED, FAILED = "queued", "started", "finished", "failed"
#: Why a job waits or failed (``reason`` in ``job_status``).
NO_WORKER, WORKER_LOST, ERROR = "no_worker", "worker_lost", "error"
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
    """Render the brand summary PDF into storage; returns (storage key, download file name)."""
    from .analytics import Period
    from .extensions import db
    from .models import Region
    from .reports.pdf import brand_summary_pdf

    period = Period.month(params["month"])
    region = db.session.get(Region, params["region_id"]) if params.get("region_id") else None
    data, filename = brand_summary_pdf(period, region, progress=progress)
    key = storage.new_key("reports", ".pdf")
    storage.save(key, data)
    return key, filename


BUILDERS: dict[str, Callable[[dict, Callable[[int], None]], tuple[str, str]]] = {
    "brand_summary": build_brand_summary,
}


_preloaded_app: Flask | None = None


def preload_app() -> Flask:
    """The app of this worker process, created once (``month_end_jobs.ReportWorker`` does
    it before forking, so every job's fork starts with it)."""
    global _preloaded_app
    if _preloaded_app is None:
        from . import create_app

        _preloaded_app = create_app()
    return _preloaded_app


def _app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _preloaded_app is not None:
        return _preloaded_app
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


def _queue(connection):
    from rq import Queue

    return Queue(queue_name(), connection=connection)


def live_workers(queue) -> int:
    """How many RQ workers listen on ``queue`` now. ``Worker.all`` leaves out a worker whose
    registration expired (a killed worker stops renewing it) or that said it stopped."""
    from rq import Worker

    return sum(1 for w in Worker.all(queue=queue) if w.death_date is None)


def start_report(kind: str, params: dict) -> str:
    """Start a report job; returns its id.

    With Redis and a worker listening on the queue the job is enqueued, unless the same
    report (same kind and params) is already queued or running: then that job's id is
    returned, so repeated clicks share one job. Without Redis, or with no worker to take
    the job, it is built now, in the request (a warning is logged for the missing worker).
    """
    if kind not in BUILDERS:
        raise ValueError(f"Unknown report {kind!r}.")
    connection = redis_connection()
    if connection is not None:
        from redis.exceptions import RedisError

        try:
            queue = _queue(connection)
            if live_workers(queue):
                return _enqueue_once(queue, kind, params)
            log.warning("No RQ worker listens on queue %r: the %s report is built in the "
                        "request. Start one with `rq worker --url $REDIS_URL %s`.",
                        queue.name, kind, queue.name)
        except RedisError as exc:
            log.warning("Redis unreachable (%s): the %s report is built in the request",
                        exc, kind)
    return _run_now(kind, params)


def _dedupe_key(queue_name: str, kind: str, params: dict) -> str:
    digest = hashlib.sha256(json.dumps([kind, params], sort_keys=True).encode()).hexdigest()
    return f"auditapp:report-job:{queue_name}:{digest[:32]}"


def _enqueue_once(queue, kind: str, params: dict) -> str:
    connection = queue.connection
    key = _dedupe_key(queue.name, kind, params)
    # One request at a time per report, so two quick clicks cannot both enqueue.
    with connection.lock(key + ":lock", timeout=30, blocking_timeout=10):
        current = connection.get(key)
        if current is not None:
            current_id = current.decode()
            status = job_status(current_id)
            if status is not None and status["status"] in (QUEUED, STARTED) \
                    and not status.get("reason"):
                return current_id
        job_id = secrets.token_hex(16)
        queue.enqueue(
            "auditapp.jobs.run_report",
            kind,
            params,
            job_id=job_id,
            job_timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL,
            meta={"progress": 0, "kind": kind},
        )
        connection.set(key, job_id, ex=2 * JOB_TIMEOUT)
    return job_id


def _run_now(kind: str, params: dict) -> str:
    """The synchronous fallback: build the report in this request, keep its status in
    storage."""
    job_id = secrets.token_hex(16)
    about = {"kind": kind, "params": params}
    _write_status(job_id, {"status": STARTED, "progress": 0, **about})
    try:
        result = run_report(kind, params, job_id)
    except Exception:
        log.exception("Report job %s failed", job_id)
        _write_status(job_id, {"status": FAILED, "progress": 100, "reason": ERROR, **about})
    else:
        _write_status(job_id, {"status": FINISHED, "progress": 100, **about, **result})
    return job_id


def retry_report(job_id: str) -> str | None:
    """Start again a job that failed or waits for a worker that is not there; returns the
    id to follow (the same id while the job is fine), None for an unknown job. A job still
    queued is taken off the queue first, so a worker that comes back does not build it
    again."""
    status = job_status(job_id)
    if status is None:
        return None
    if status["status"] == FINISHED or (
        status["status"] in (QUEUED, STARTED) and not status.get("reason")
    ):
        return job_id
    connection = redis_connection()
    if connection is not None and status["status"] == QUEUED:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        with contextlib.suppress(NoSuchJobError):
            Job.fetch(job_id, connection=connection).delete()
    return start_report(status["kind"], status["params"])


def job_status(job_id: str) -> dict[str, Any] | None:
    """A job's ``{"status", "progress", "kind", "params"}``, plus ``key`` and ``filename``
    once finished and ``reason`` when something is wrong: ``no_worker`` (queued, but no
    worker listens on the queue), ``worker_lost`` (failed: the worker running it died) or
    ``error`` (failed: the build raised). None if the job is unknown. Raises
    ``QueueUnavailable`` (503) when the job may be queued but Redis does not answer."""
    if not valid_job_id(job_id):
        return None
    key = _status_key(job_id)
    if storage.exists(key):  # it ran in a request (no Redis, no worker, or Redis was down)
        return json.loads(storage.load(key))
    connection = redis_connection()
    if connection is None:
        return None
    from redis.exceptions import RedisError

    try:
        return _rq_status(connection, job_id)
    except RedisError as exc:
        log.warning("Redis unreachable (%s): status of job %s unknown", exc, job_id)
        raise QueueUnavailable() from exc


def _rq_state(job) -> str:
    state = job.get_status(refresh=True)
    state = getattr(state, "value", state)
    if state in ("failed", "stopped", "canceled"):
        return FAILED
    return {"finished": FINISHED, "started": STARTED}.get(state, QUEUED)


def _rq_status(connection, job_id: str) -> dict[str, Any] | None:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None
    state = _rq_state(job)
    if state == STARTED:
        # rq's own check for abandoned jobs (an execution whose worker stopped renewing its
        # heartbeat) runs in a worker's maintenance only every few minutes: run it now.
        StartedJobRegistry(job.origin, connection=connection).cleanup()
        state = _rq_state(job)
    kind, params = job.args[0], job.args[1]
    out: dict[str, Any] = {"status": state, "progress": int((job.meta or {}).get("progress", 0)),
                           "kind": kind, "params": params}
    if state == FINISHED:
        result = job.return_value() or {}
        out.update(progress=100, key=result.get("key"), filename=result.get("filename"))
    elif state == STARTED and _worker_gone(job) and _rq_state(job) == STARTED:
        out.update(status=FAILED, reason=WORKER_LOST)
    elif state == FAILED:
        latest = job.latest_result()
        abandoned = latest is not None and "AbandonedJobError" in (latest.exc_string or "")
        out["reason"] = WORKER_LOST if abandoned else ERROR
    elif state == QUEUED and not live_workers(_queue(connection)):
        out["reason"] = NO_WORKER
    return out


def _worker_gone(job) -> bool:
    """Whether the worker that started ``job`` is no longer there (its registration expired
    because it stopped sending heartbeats, or it registered its death)."""
    from rq import Worker

    if not job.worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                connection=job.connection)
    return worker is None or worker.death_date is not None


# --- e-mail: the outbox, sent after the commit -----------------------------------------------
#
# ``notifications.notify`` writes each message as an ``OutboxMessage`` row in the caller's
# transaction and notes its id in ``session.info``. Once that transaction commits, the ids
# are handed to the job queue (``send_mail`` on the RQ queue, retried by RQ) or, without
# Redis or a worker, sent in this process on a session of their own (never inside the
# request's transaction). A send that fails leaves the row ``pending`` with its error and
# attempt count (logged); RQ's retries or ``flask notify send`` (cron) try it again, until
# ``MAIL_MAX_ATTEMPTS`` are used up (``failed``; ``flask notify send --retry-failed``).
# A batch stops at its first failure (the server is most likely down for the others too):
# the rest stay ``pending`` for the next run.

#: A message taken by a sender that then died is taken again after this long.
MAIL_CLAIM_TIMEOUT = timedelta(minutes=15)
MAIL_RETRY_INTERVALS = [60, 300, 900, 3600]


def _after_commit(session) -> None:
    from .notifications import NEW_MESSAGES

    ids = session.info.pop(NEW_MESSAGES, None)
    if ids:
        start_mail(ids)


def _after_rollback(session, _previous) -> None:
    from .notifications import NEW_MESSAGES

    session.info.pop(NEW_MESSAGES, None)


def init_mail_delivery() -> None:
    """Send the outbox messages a transaction wrote once it commits; forget them on a
    rollback. (Listens on the one ``db.session``, once for every app.)"""
    from sqlalchemy import event

    from .extensions import db

    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_rollback)


def start_mail(ids: list[int]) -> None:
    """Send the messages ``ids``: enqueued when Redis and a worker are there, else now
    (with the other pending ones)."""
    connection = redis_connection()
    if connection is not None:
        from redis.exceptions import RedisError
        from rq import Retry

        try:
            queue = _queue(connection)
            if live_workers(queue):
                for message_id in ids:
                    queue.enqueue("auditapp.jobs.send_mail", message_id,
                                  retry=Retry(max=len(MAIL_RETRY_INTERVALS),
                                              interval=MAIL_RETRY_INTERVALS),
                                  result_ttl=3600, failure_ttl=RESULT_TTL)
                return
            log.warning("No RQ worker listens on queue %r: e-mail is sent in this process.",
                        queue.name)
        except RedisError as exc:
            log.warning("Redis unreachable (%s): e-mail is sent in this process", exc)
    deliver_pending(ids)


def send_mail(message_id: int) -> None:
    """The RQ job: send one outbox message (raises when the send failed, so RQ retries)."""
    app = _app()
    with app.app_context():
        from sqlalchemy.orm import Session

        from .extensions import db

        with Session(db.engine) as session:
            if deliver(session, message_id) is False:
                raise RuntimeError(f"E-mail {message_id} not sent yet; will retry.")


def deliver_pending(ids: list[int] | None = None,
                    retry_failed: bool = False) -> dict[str, int]:
    """Send the messages ``ids`` (default: every message waiting in the outbox), each on
    its own claim, stopping at the first failed send. Returns counts."""
    from sqlalchemy import or_, select
    from sqlalchemy.orm import Session

    from .extensions import db
    from .models import OutboxMessage, utcnow
    from .models.notification import MAIL_FAILED, MAIL_PENDING, MAIL_SENDING

    counts = {"sent": 0, "failed": 0}
    statuses = [MAIL_PENDING, MAIL_FAILED] if retry_failed else [MAIL_PENDING]
    with Session(db.engine) as session:
        if retry_failed:
            session.execute(update_outbox().where(OutboxMessage.status == MAIL_FAILED)
                            .values(status=MAIL_PENDING, attempts=0))
            session.commit()
        if ids is None:
            stale = utcnow() - MAIL_CLAIM_TIMEOUT
            ids = list(session.scalars(
                select(OutboxMessage.id).where(or_(
                    OutboxMessage.status.in_(statuses),
                    (OutboxMessage.status == MAIL_SENDING) & (OutboxMessage.claimed_at < stale),
                )).order_by(OutboxMessage.id)))
        for message_id in ids:
            result = deliver(session, message_id)
            if result is True:
                counts["sent"] += 1
            elif result is False:
                counts["failed"] += 1
                break
    return counts


def update_outbox():
    from sqlalchemy import update

    from .models import OutboxMessage

    return update(OutboxMessage)


def deliver(session, message_id: int) -> bool | None:
    """Claim, send and record one message on ``session`` (committing each step). True:
    sent; False: the send failed (kept for a retry, or ``failed`` after the last attempt);
    None: nothing to do (sent already, or another sender has it)."""
    from flask_mailman import EmailMultiAlternatives

    from .extensions import mail
    from .models import OutboxMessage, utcnow
    from .models.notification import MAIL_FAILED, MAIL_PENDING, MAIL_SENDING, MAIL_SENT

    now = utcnow()
    claimed = session.execute(
        update_outbox().where(
            OutboxMessage.id == message_id,
            (OutboxMessage.status == MAIL_PENDING)
            | ((OutboxMessage.status == MAIL_SENDING)
               & (OutboxMessage.claimed_at < now - MAIL_CLAIM_TIMEOUT)))
        .values(status=MAIL_SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
    ).rowcount
    session.commit()
    if not claimed:
        return None
    message = session.get(OutboxMessage, message_id)
    email = EmailMultiAlternatives(
        message.subject, message.text_body,
        current_app.config.get("MAIL_DEFAULT_SENDER"), [message.to_address],
        connection=mail.get_connection(),
    )
    email.attach_alternative(message.html_body, "text/html")
    try:
        email.send()
    except Exception as exc:  # noqa: BLE001 - any transport error: keep it for a retry
        last = message.attempts >= current_app.config.get("MAIL_MAX_ATTEMPTS", 5)
        message.status = MAIL_FAILED if last else MAIL_PENDING
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
        log.warning("E-mail %s (%s) to user %s not sent, attempt %s%s: %s", message.id,
                    message.event, message.user_id, message.attempts,
                    " (giving up)" if last else "", message.last_error)
        return False
    message.status, message.sent_at, message.last_error = MAIL_SENT, utcnow(), ""
    session.commit()
    if current_app.config.get("MAIL_BACKEND") == "file":  # no MAIL_SERVER: say where it went
        log.warning("No MAIL_SERVER set: e-mail %s (%s) to user %s was written to %s",
                    message.id, message.event, message.user_id,
                    current_app.config.get("MAIL_FILE_PATH"))
    else:
        log.info("E-mail %s (%s) sent to user %s", message.id, message.event, message.user_id)
    return True


# --- the periodic checks (reminders, overdue, escalations, months ready to close) ------------
#
# ``deadlines.run_periodic`` is idempotent (each notice is recorded once), so it may run as
# often as wanted, from cron (``flask notify run``) or on the queue: ``periodic_job`` runs
# it, commits, and schedules itself again ``NOTIFY_PERIODIC_MINUTES`` later with rq's own
# scheduler (``Queue.enqueue_in``: the worker must run ``rq worker --with-scheduler``).
# ``flask notify schedule`` starts the chain (once; a second call finds the scheduled job).

PERIODIC_KEY = "auditapp:periodic-job"


def run_periodic_now(now=None) -> dict[str, int]:
    """Run the periodic checks in this process and commit them (the synchronous path).
    A concurrent run that recorded the same notices first makes this one roll back: it
    then sends nothing (the other run sent them)."""
    from sqlalchemy.exc import IntegrityError

    from . import deadlines
    from .extensions import db

    try:
        sent = deadlines.run_periodic(now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.warning("Periodic checks: another run gave the same notices first; nothing sent.")
        return {}
    if sent:
        log.info("Periodic checks sent: %s", sent)
    return sent


def periodic_interval() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("NOTIFY_PERIODIC_MINUTES", 15)))


def periodic_job() -> dict[str, int]:
    """The RQ job: run the checks, then schedule the next run."""
    app = _app()
    with app.app_context():
        try:
            return run_periodic_now()
        finally:
            schedule_periodic()


def start_periodic() -> tuple[str | None, dict[str, int] | None]:
    """Start the periodic checks on the queue (``schedule_periodic``); returns (job id,
    None). The synchronous fallback: without Redis, with Redis unreachable or with no
    worker listening on the queue, the checks also run now, in this process, and their
    counts are returned (then cron should run ``flask notify run``)."""
    connection = redis_connection()
    if connection is None:
        return None, run_periodic_now()
    from redis.exceptions import RedisError

    try:
        job_id = schedule_periodic(connection)
        if live_workers(_queue(connection)):
            return job_id, None
        log.warning("No RQ worker listens on queue %r: the periodic checks run now. Start "
                    "one with `rq worker --with-scheduler --url $REDIS_URL %s`.",
                    queue_name(), queue_name())
        return job_id, run_periodic_now()
    except RedisError as exc:
        log.warning("Redis unreachable (%s): the periodic checks run in this process", exc)
        return None, run_periodic_now()


def schedule_periodic(connection=None) -> str | None:
    """Make sure the next periodic run is scheduled on the queue; returns its job id, or
    None without Redis. A run already scheduled (or queued) is kept, so calling this again
    schedules nothing twice."""
    connection = connection or redis_connection()
    if connection is None:
        return None
    from rq import get_current_job
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queue = _queue(connection)
    key = f"{PERIODIC_KEY}:{queue.name}"
    current = get_current_job()
    with connection.lock(key + ":lock", timeout=30, blocking_timeout=10):
        known = connection.get(key)
        if known is not None and (current is None or known.decode() != current.id):
            try:
                job = Job.fetch(known.decode(), connection=connection)
                state = getattr(job.get_status(), "value", job.get_status())
                if state in ("scheduled", "queued", "deferred"):
                    return job.id
            except NoSuchJobError:
                pass
        job = queue.enqueue_in(periodic_interval(), "auditapp.jobs.periodic_job",
                               job_id=f"periodic-{secrets.token_hex(8)}",
                               result_ttl=3600, failure_ttl=RESULT_TTL)
        connection.set(key, job.id)
    return job.id
