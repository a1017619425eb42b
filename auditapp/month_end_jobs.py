"""The month-end run on the job queue (issue #22), and its synchronous fallback.

``start(month)`` creates (or reuses) the month's run and hands the parent job
``plan_job`` to the RQ queue; the parent adds the run's parts (``month_end.plan``) and
enqueues one ``part_job`` per part not done yet — the brand summary's pieces first, then
the region summaries, then the stores — on as many workers as listen on the queue. A
failed part is tried again by RQ (``Retry``) and can be started again alone
(``rerun``). The last brand-summary piece to finish enqueues the merge.

Without Redis, or with no worker listening, the same run is built here, in this process,
one part after another (the brand summary's pieces too), with the same retries.

Workers: ``rq worker --url $REDIS_URL -w auditapp.month_end_jobs.ReportWorker auditapp``
loads the app, fonts and stylesheet once; each job then runs in a fork of that process
(RQ's default), so each part's memory is given back when it ends.
"""

from __future__ import annotations

import logging
import traceback

from flask_babel import get_locale
from rq import Worker

from . import jobs, month_end
from .extensions import db
from .models.month_end import (
    KIND_BRAND,
    KIND_BRAND_PIECE,
    KIND_REGION,
    KIND_STORE,
    PART_DONE,
    PART_FAILED,
    MonthEndPart,
    MonthEndRun,
)

log = logging.getLogger(__name__)

PART_TIMEOUT = 15 * 60
_ORDER = {KIND_BRAND_PIECE: 0, KIND_REGION: 1, KIND_STORE: 2, KIND_BRAND: 3}


def _live_queue():
    """The RQ queue when Redis answers and a worker listens on it, else None."""
    connection = jobs.redis_connection()
    if connection is None:
        return None
    from redis.exceptions import RedisError

    try:
        queue = jobs._queue(connection)
        if jobs.live_workers(queue):
            return queue
        log.warning("No RQ worker listens on queue %r: the month-end reports are built in "
                    "this process.", queue.name)
    except RedisError as exc:
        log.warning("Redis unreachable (%s): the month-end reports are built in this "
                    "process", exc)
    return None


def start(month: str, *, user_id: int | None = None, locale: str | None = None,
          queue=None, in_process: bool = True) -> MonthEndRun:
    """Start (or continue) the month-end run of ``month``: on the queue when a worker
    listens, else built now in this process (or, with ``in_process=False``, only created,
    to be built later from its page or the CLI). Commits. Starting it again builds only
    the parts not done (and the failed ones)."""
    locale = locale or str(get_locale() or "en")
    run = month_end.get_or_create_run(month, locale=locale, user_id=user_id)
    db.session.commit()
    queue = queue if queue is not None else _live_queue()
    if queue is not None:
        queue.enqueue("auditapp.month_end_jobs.plan_job", run.id, job_timeout=PART_TIMEOUT,
                      result_ttl=3600, failure_ttl=jobs.RESULT_TTL,
                      retry=_retry())
    elif in_process:
        run_in_process(run.id)
    return run


def start_after_close(month: str, user_id: int | None) -> None:
    """The hook of HQ closing a month: start its run on the queue. Without a worker the
    run is only created — thousands of PDFs are not built inside the close request — and
    HQ builds it from the run's page or ``flask reports month-end``. A failure to start
    is logged, never shown as a failed close."""
    try:
        start(month, user_id=user_id, in_process=False)
    except Exception:  # noqa: BLE001 - the month is closed either way
        db.session.rollback()
        log.exception("The month-end run of %s could not be started", month)


def _retry():
    from rq import Retry

    return Retry(max=month_end.RETRIES)


#: Parts marked queued and enqueued together: the first ones (the brand summary's pieces)
#: start while the thousands of store parts behind them are still being enqueued.
ENQUEUE_BATCH = 50


def _enqueue_parts(queue, run_id: int, part_ids: list[int]) -> int:
    count = 0
    for start in range(0, len(part_ids), ENQUEUE_BATCH):
        marked = month_end.mark_queued(part_ids[start:start + ENQUEUE_BATCH])
        db.session.commit()
        for part_id, job_id in marked:
            queue.enqueue("auditapp.month_end_jobs.part_job", part_id, job_id=job_id,
                          job_timeout=PART_TIMEOUT, result_ttl=600,
                          failure_ttl=jobs.RESULT_TTL, retry=_retry(),
                          meta={"run_id": run_id})
        count += len(marked)
    return count


def _open_parts(run_id: int) -> list[int]:
    """The parts still to build, brand pieces first (the longest path), the merge last."""
    from sqlalchemy import select

    rows = db.session.execute(
        select(MonthEndPart.id, MonthEndPart.kind)
        .where(MonthEndPart.run_id == run_id,
               MonthEndPart.status.in_(month_end.CLAIMABLE))).all()
    return [pid for pid, kind in sorted(rows, key=lambda r: (_ORDER[r[1]], r[0]))
            if kind != KIND_BRAND]


def plan_job(run_id: int) -> int:
    """The parent job: plan the run's parts and enqueue every one not done; returns how
    many were enqueued."""
    app = jobs._app()
    with app.app_context(), app.test_request_context("/"):
        run = db.session.get(MonthEndRun, run_id)
        month_end.plan(run)
        db.session.commit()
        queue = _current_queue()
        count = _enqueue_parts(queue, run_id, _open_parts(run_id))
        if month_end.merge_ready(run_id):  # pieces all done already (a second run)
            db.session.commit()
            _enqueue_merge(queue, run_id)
            count += 1
        else:
            db.session.commit()
        return count


def _current_queue():
    from rq import Queue, get_current_job

    job = get_current_job()
    return Queue(job.origin, connection=job.connection)


def _enqueue_merge(queue, run_id: int) -> None:
    """Enqueue the brand summary's merge (``month_end.merge_ready`` marked it queued)."""
    import secrets

    from sqlalchemy import select

    part = db.session.scalar(select(MonthEndPart).where(
        MonthEndPart.run_id == run_id, MonthEndPart.kind == KIND_BRAND))
    part.job_id = f"month-end-part-{part.id}-{secrets.token_hex(6)}"
    db.session.commit()
    queue.enqueue("auditapp.month_end_jobs.part_job", part.id, job_id=part.job_id,
                  job_timeout=PART_TIMEOUT, result_ttl=600, failure_ttl=jobs.RESULT_TTL,
                  retry=_retry(), meta={"run_id": run_id})


def build_part(part_id: int) -> str:
    """Claim and build one part, committing its state; raises when the build failed (the
    part is then ``failed`` with its error). Returns the part's state."""
    if not month_end.claim(part_id):
        db.session.commit()
        return "skipped"
    db.session.commit()
    part = db.session.get(MonthEndPart, part_id)
    try:
        month_end.build(part)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        month_end.fail(part_id, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        db.session.commit()
        log.warning("Month-end part %s failed: %s", part_id, exc)
        raise
    return PART_DONE


def part_job(part_id: int) -> str:
    """The RQ job of one part. After the last brand-summary piece, enqueues the merge."""
    app = jobs._app()
    with app.app_context(), app.test_request_context("/"):
        state = build_part(part_id)
        part = db.session.get(MonthEndPart, part_id)
        if part.kind == KIND_BRAND_PIECE and month_end.merge_ready(part.run_id):
            db.session.commit()
            _enqueue_merge(_current_queue(), part.run_id)
        return state


def run_in_process(run_id: int) -> month_end.Progress:
    """The synchronous fallback: plan the run and build every open part here, each tried
    up to 1 + ``RETRIES`` times; the brand summary's pieces, then its merge."""
    run = db.session.get(MonthEndRun, run_id)
    month_end.plan(run)
    db.session.commit()
    for part_id in _open_parts(run_id):
        _build_with_retries(part_id)
    if month_end.merge_ready(run_id):
        db.session.commit()
        from sqlalchemy import select

        merge_id = db.session.scalar(select(MonthEndPart.id).where(
            MonthEndPart.run_id == run_id, MonthEndPart.kind == KIND_BRAND))
        _build_with_retries(merge_id)
    return month_end.progress(run)


def _build_with_retries(part_id: int) -> None:
    import contextlib

    for _attempt in range(1 + month_end.RETRIES):
        with contextlib.suppress(Exception):  # recorded on the part
            if build_part(part_id) != PART_FAILED:
                return


#: The states of an RQ job that will still run (or is running): its part is not lost.
_ALIVE = ("created", "queued", "started", "deferred", "scheduled")


def recover_lost(run: MonthEndRun) -> int:
    """Mark failed (so they can be re-run) the run's parts queued for longer than
    ``STALE_AFTER`` whose RQ job will never run them: a worker crashed before taking it,
    Redis lost it, or the job failed before it could claim the part. A part whose job is
    still on the queue (behind thousands of others) is left alone; when Redis cannot be
    asked, every such part counts as lost (a part is built once however often it is
    started: ``month_end.claim``). Commits; returns how many were lost."""
    from sqlalchemy import update

    from .models import utcnow

    waiting = month_end.queued_long(run)
    if not waiting:
        return 0
    alive: set[str] = set()
    connection = jobs.redis_connection()
    if connection is not None:
        from redis.exceptions import RedisError
        from rq.job import Job

        try:
            ids = [p.job_id for p in waiting if p.job_id]
            alive = {job.id for job in Job.fetch_many(ids, connection=connection)
                     if job is not None and job.get_status(refresh=False) in _ALIVE}
        except RedisError as exc:
            log.warning("Redis unreachable (%s): queued month-end parts count as lost", exc)
    def when(part: MonthEndPart) -> str:
        return f"at {part.queued_at:%Y-%m-%d %H:%M} UTC" if part.queued_at else "long ago"

    lost = 0
    for part in waiting:
        if part.job_id in alive:
            continue
        lost += db.session.execute(
            update(MonthEndPart)
            .where(MonthEndPart.id == part.id, MonthEndPart.status == part.status,
                   MonthEndPart.job_id.is_(None) if part.job_id is None
                   else MonthEndPart.job_id == part.job_id)
            .values(status=PART_FAILED, finished_at=utcnow(),
                    error=f"Lost: queued {when(part)}, its job is no longer on the queue "
                          "(a worker or Redis lost it).")).rowcount
    db.session.commit()
    if lost:
        log.warning("Month-end %s: %s queued part(s) were lost; they can be re-run",
                    run.month, lost)
    return lost


def rerun(run: MonthEndRun, part_ids: list[int] | None = None) -> int:
    """Start again the failed parts ``part_ids`` (default: all the run's failed parts,
    those whose worker died while running them and those lost on the queue:
    ``recover_lost``), on the queue or here; returns how many were started."""
    from sqlalchemy import select

    from .models import utcnow

    recover_lost(run)
    stale = (MonthEndPart.status == "running") & (
        MonthEndPart.started_at < utcnow() - month_end.STALE_AFTER)
    query = select(MonthEndPart.id, MonthEndPart.kind).where(
        MonthEndPart.run_id == run.id, (MonthEndPart.status == PART_FAILED) | stale)
    if part_ids is not None:
        query = query.where(MonthEndPart.id.in_(part_ids))
    rows = db.session.execute(query.order_by(MonthEndPart.id)).all()
    if not rows:
        return 0
    queue = _live_queue()
    if queue is None:
        for part_id, kind in sorted(rows, key=lambda r: _ORDER[r[1]]):
            if kind == KIND_BRAND and not month_end.merge_ready(run.id):
                continue
            _build_with_retries(part_id)
        if month_end.merge_ready(run.id):  # a piece re-built: the merge can go now
            db.session.commit()
            run_in_process(run.id)
        return len(rows)
    pieces = [pid for pid, kind in rows if kind != KIND_BRAND]
    count = _enqueue_parts(queue, run.id, pieces)
    if any(kind == KIND_BRAND for _pid, kind in rows) and month_end.merge_ready(run.id):
        db.session.commit()
        _enqueue_merge(queue, run.id)
        count += 1
    return count


# --- the worker ----------------------------------------------------------------------------


class ReportWorker(Worker):
    """An RQ worker that loads the app, fonts and print stylesheet once, before it forks a
    process per job (so each job's memory is given back when it ends)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        preload()


def preload() -> None:
    """Create the app for this worker process and warm WeasyPrint up (fonts, stylesheet
    and, unless ``REPORT_WORKER_WARM_UP`` is off, one real store report per language:
    ``warm_up``), then drop the database connections so forked jobs open their own.
    What is loaded is then frozen out of the garbage collector's reach (``gc.freeze``):
    the ~400,000 objects of the warm app are never garbage, and a forked job would
    otherwise walk them all in each full collection (touching, and so copying, their
    memory pages shared with the worker)."""
    import gc

    app = jobs.preload_app()
    with app.app_context(), app.test_request_context("/"):
        from .reports.pdf import font_config, print_stylesheet

        font_config()
        print_stylesheet()
        if app.config.get("REPORT_WORKER_WARM_UP", True):
            warm_up()
        db.session.remove()
        db.engine.dispose()
    gc.collect()
    gc.freeze()


def warm_up() -> None:
    """Build one store's monthly report in each language, thrown away, so that every job
    forked from this process starts with what the first build fills in: the compiled
    templates (the summaries' too) and SQL statements, the message catalogues, and
    Pango's, fontconfig's and HarfBuzz's font caches for Latin and CJK text in the print
    stylesheet's fonts. A database without stores (or any error) only skips it."""
    from datetime import date

    from flask import current_app
    from flask_babel import force_locale
    from sqlalchemy import func, select

    from .analytics import Period
    from .models import MonthClosure, Store, Visit
    from .reports.views import store_month_document

    try:
        store = db.session.scalar(select(Store).order_by(Store.id).limit(1))
        if store is None:
            return
        # the newest closed month (a closed month's figures are read from its snapshot)
        # and the newest month with visits (an open month's are computed)
        months = {db.session.scalar(select(func.max(MonthClosure.month))),
                  db.session.scalar(select(func.max(Visit.month)))} - {None}
        for month in sorted(months) or [f"{date.today():%Y-%m}"]:
            for locale in current_app.config.get("LANGUAGES", ("en",)):
                with force_locale(locale):
                    data, _name = store_month_document(store, Period.month(month))
        month_end.page_count(data)  # imports what a part's bookkeeping needs, too
        env = current_app.jinja_env  # the brand and region summaries' templates, compiled
        for name in env.list_templates(
                filter_func=lambda n: n.startswith(("reports/", "_")) and n.endswith(".html")):
            env.get_template(name)
    except Exception:  # noqa: BLE001 - a warm-up, never a reason not to start
        log.exception("Warming the report renderer up failed; jobs start cold")
    finally:
        db.session.rollback()
