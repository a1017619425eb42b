"""Month-end reports at chain scale (issue #22): the plan of a month's run and the build
of each of its parts. No commits here: ``month_end_jobs`` (the jobs, the synchronous
fallback) and the views and commands that call them commit.

A run (``MonthEndRun``, one per month) holds one part (``MonthEndPart``) per piece of
work: each store's monthly PDF, each region's summary, each piece of the brand summary
(its front sections, then its store ranking in pieces of ``MONTH_END_PIECE_ROWS`` stores)
and the brand summary merged from those pieces with "Page X of Y" stamped once. Parts are
unique per run, kind and key; a part is taken (``claim``) only from pending, queued or
failed, so a part is built once however often the run is started. Every file goes through
``storage``.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import notifications, storage
from .analytics import Period
from .extensions import db
from .models import Region, Store, utcnow
from .models.month_end import (
    KIND_BRAND,
    KIND_BRAND_PIECE,
    KIND_REGION,
    KIND_STORE,
    PART_DONE,
    PART_FAILED,
    PART_PENDING,
    PART_QUEUED,
    PART_RUNNING,
    MonthEndPart,
    MonthEndRun,
)
from .months import is_closed

#: What the progress page calls each kind of part.
KIND_LABELS = {
    KIND_STORE: _l("Store reports"),
    KIND_REGION: _l("Region summaries"),
    KIND_BRAND_PIECE: _l("Brand summary, pieces"),
    KIND_BRAND: _l("Brand summary, merged"),
}
#: A part that fails is tried again this many times (RQ ``Retry``; in-process the same).
RETRIES = 2
#: Parts that may be taken: never one done, nor one running (unless it has run longer than
#: any job may: its worker died, ``STALE_AFTER``).
CLAIMABLE = (PART_PENDING, PART_QUEUED, PART_FAILED)
STALE_AFTER = timedelta(minutes=20)


def claimable():
    """The condition of a part that may be taken."""
    return or_(MonthEndPart.status.in_(CLAIMABLE),
               (MonthEndPart.status == PART_RUNNING)
               & (MonthEndPart.started_at < utcnow() - STALE_AFTER))


def piece_rows() -> int:
    """Stores per piece of the brand summary's ranking on the queue: by default the parts
    a single process renders (``REPORT_PART_ROWS``), so the merged PDF is the same."""
    return int(current_app.config.get("MONTH_END_PIECE_ROWS")
               or current_app.config.get("REPORT_PART_ROWS", 400))


def get_run(month: str) -> MonthEndRun | None:
    return db.session.scalar(select(MonthEndRun).where(MonthEndRun.month == month))


def get_or_create_run(month: str, *, locale: str = "en",
                      user_id: int | None = None) -> MonthEndRun:
    """The month's run; created (not yet planned) the first time. Two starts at the same
    moment share one run (the month is unique)."""
    from .i18n import language_code

    Period.month(month)  # a valid month or PeriodError
    run = get_run(month)
    if run is not None:
        return run
    try:
        with db.session.begin_nested():
            run = MonthEndRun(month=month, locale=language_code(locale),
                              started_by_id=user_id)
            db.session.add(run)
    except IntegrityError:
        run = get_run(month)
    assert run is not None
    return run


def report_date(run: MonthEndRun) -> date:
    """The issue date printed on every report of the run (the same on every piece)."""
    return (run.created_at or utcnow()).date()


def _add_part(run: MonthEndRun, kind: str, key: str, existing: set[tuple[str, str]],
              **refs) -> None:
    if (kind, key) not in existing:
        db.session.add(MonthEndPart(run_id=run.id, kind=kind, key=key, status=PART_PENDING,
                                    attempts=0, error="", **refs))
        existing.add((kind, key))


def manager_locales() -> dict[int, set[str]]:
    """The languages the managers of each store read (their preference, else the app's
    default), by store id."""
    from .i18n import language_code
    from .models import User, store_managers
    from .models.user import MANAGER

    query = (select(store_managers.c.store_id, User.locale)
             .join(User, User.id == store_managers.c.user_id)
             .where(User.role == MANAGER, User.active.is_(True)).distinct())
    out: dict[int, set[str]] = {}
    for store_id, locale in db.session.execute(query):
        out.setdefault(store_id, set()).add(language_code(locale))
    return out


def plan(run: MonthEndRun) -> int:
    """Add the run's missing parts (every store that counts in the month — active, or
    deactivated during or after it, ``analytics.counts_in`` — and every active region,
    the brand summary's pieces and its merge); returns how many parts the run has.
    Each store's report is built in the run's language and, for managers who read
    another, in theirs too (key ``<store id>:<locale>``). Planning again adds only what
    is new (a store opened since, a manager with another language)."""
    from flask_babel import force_locale

    from .analytics import counts_in
    from .i18n import language_code

    existing = set(db.session.execute(
        select(MonthEndPart.kind, MonthEndPart.key).where(MonthEndPart.run_id == run.id)
    ))
    period = Period.month(run.month)
    readers = manager_locales()
    for store_id, in db.session.execute(
            select(Store.id).where(counts_in(period)).order_by(Store.code)):
        _add_part(run, KIND_STORE, str(store_id), existing, store_id=store_id)
        for locale in sorted(readers.get(store_id, set()) - {language_code(run.locale)}):
            _add_part(run, KIND_STORE, f"{store_id}:{locale}", existing,
                      store_id=store_id, locale=locale)
    for region_id, in db.session.execute(
            select(Region.id).where(Region.active.is_(True)).order_by(Region.name)):
        _add_part(run, KIND_REGION, str(region_id), existing, region_id=region_id)
    if not any(kind == KIND_BRAND_PIECE for kind, _key in existing):
        with force_locale(run.locale):
            _plan_brand(run, existing)
    _add_part(run, KIND_BRAND, "summary", existing)
    run.planned_at = run.planned_at or utcnow()
    db.session.flush()
    return len(existing)


def piece_source_key(run: MonthEndRun, key: str) -> str:
    """Where the plan keeps the HTML of the brand summary's ranking piece ``key``."""
    return f"month-end/{run.month}/brand-{run.id}/piece-{key}.html"


def _plan_brand(run: MonthEndRun, existing: set[tuple[str, str]]) -> None:
    """The brand summary's pieces. Its context (SQL aggregates and the ranking of every
    store) is computed here, once: each ranking piece's HTML — its stores' rows, nothing
    else — is rendered now and kept through ``storage`` (``piece_source_key``), so its job
    only lays it out, and every piece shows the same figures. The front piece renders its
    own sections in its job (their insights are computed there, beside the ranking)."""
    from .reports.context import brand_summary_context
    from .reports.pdf import brand_summary_pieces

    ctx = brand_summary_context(Period.month(run.month))
    for index, overrides in enumerate(brand_summary_pieces(ctx, rows=piece_rows()) or []):
        key = f"{index:04d}"
        if overrides["part"] == "ranking":
            html = _render_brand_piece(run, ctx, overrides)
            storage.save(piece_source_key(run, key), html.encode())
        _add_part(run, KIND_BRAND_PIECE, key, existing)


# --- taking and building a part ----------------------------------------------------------


def claim(part_id: int) -> bool:
    """Take the part for building (running, one more attempt): False when it is running
    or done already (then there is nothing to do)."""
    taken = db.session.execute(
        update(MonthEndPart)
        .where(MonthEndPart.id == part_id, claimable())
        .values(status=PART_RUNNING, attempts=MonthEndPart.attempts + 1,
                started_at=utcnow(), error="")
    ).rowcount
    return bool(taken)


def mark_queued(part_ids: list[int]) -> list[tuple[int, str]]:
    """Mark the pending or failed ones among ``part_ids`` queued, each with the id of the
    RQ job to enqueue for it; returns those marked as (part id, job id), so a part already
    queued or running is not enqueued twice."""
    import secrets

    marked = []
    now = utcnow()
    stale = (MonthEndPart.status == PART_RUNNING) & (
        MonthEndPart.started_at < now - STALE_AFTER)
    for part_id in part_ids:
        job_id = f"month-end-part-{part_id}-{secrets.token_hex(6)}"
        if db.session.execute(
                update(MonthEndPart)
                .where(MonthEndPart.id == part_id,
                       MonthEndPart.status.in_((PART_PENDING, PART_FAILED)) | stale)
                .values(status=PART_QUEUED, queued_at=now, job_id=job_id)).rowcount:
            marked.append((part_id, job_id))
    return marked


def queued_long(run: MonthEndRun) -> list[MonthEndPart]:
    """The run's parts queued for longer than ``STALE_AFTER``: waiting behind many others,
    or lost (their worker crashed before taking them, or Redis lost the job) — the queue
    tells which (``month_end_jobs.recover_lost``)."""
    return list(db.session.scalars(
        select(MonthEndPart).where(
            MonthEndPart.run_id == run.id, MonthEndPart.status == PART_QUEUED,
            or_(MonthEndPart.queued_at.is_(None),
                MonthEndPart.queued_at < utcnow() - STALE_AFTER))
        .order_by(MonthEndPart.id)))


def fail(part_id: int, error: str) -> None:
    db.session.execute(update(MonthEndPart).where(MonthEndPart.id == part_id).values(
        status=PART_FAILED, error=error[:2000], finished_at=utcnow()))


def _peak_rss_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def build(part: MonthEndPart) -> None:
    """Build one claimed part: render it, store the file, mark it done."""
    from flask_babel import force_locale

    run = part.run
    started = time.perf_counter()
    with force_locale(part.locale or run.locale):
        data, filename = BUILDERS[part.kind](part, run)
    key = storage.new_key(f"month-end/{run.month}", ".pdf")
    storage.save(key, data)
    old = part.storage_key
    part.storage_key, part.filename = key, filename
    part.pages = page_count(data)
    part.status, part.finished_at, part.error = PART_DONE, utcnow(), ""
    part.build_ms = int((time.perf_counter() - started) * 1000)
    part.peak_rss_mb = _peak_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    part.cpu_ms = int((usage.ru_utime + usage.ru_stime) * 1000)
    db.session.flush()
    if old and old != key:
        storage.delete(old)
    if part.kind == KIND_STORE and old is None and is_closed(run.month):
        notifications.notify(notifications.REPORT_READY, part)


def page_count(data: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def _store_pdf(part: MonthEndPart, run: MonthEndRun) -> tuple[bytes, str]:
    from .reports.views import store_month_document

    store = db.session.get(Store, part.store_id) if part.store_id else None
    if store is None:
        raise LookupError(f"Store {part.key} no longer exists.")
    return store_month_document(store, Period.month(run.month), report_date(run))


def _region_pdf(part: MonthEndPart, run: MonthEndRun) -> tuple[bytes, str]:
    from .reports.pdf import brand_summary_pdf

    region = db.session.get(Region, part.region_id) if part.region_id else None
    if region is None:
        raise LookupError(f"Region {part.key} no longer exists.")
    return brand_summary_pdf(Period.month(run.month), region, report_date=report_date(run))


def _brand_context(run: MonthEndRun) -> tuple[dict, list[dict]]:
    from .reports.context import brand_summary_context
    from .reports.pdf import brand_summary_pieces

    ctx = brand_summary_context(Period.month(run.month))
    return ctx, brand_summary_pieces(ctx, rows=piece_rows()) or []


def _brand_piece_html(part: MonthEndPart, run: MonthEndRun) -> str:
    """A piece's HTML from the summary's context computed now: the front piece's, or a
    ranking piece's whose planned HTML is gone."""
    ctx, pieces = _brand_context(run)
    planned = db.session.scalar(select(func.count(MonthEndPart.id)).where(
        MonthEndPart.run_id == run.id, MonthEndPart.kind == KIND_BRAND_PIECE))
    index = int(part.key)
    if planned != len(pieces) or index >= len(pieces):
        raise RuntimeError(f"The brand summary now has {len(pieces)} pieces, "
                           f"{planned} were planned.")
    return _render_brand_piece(run, ctx, pieces[index])


def _render_brand_piece(run: MonthEndRun, ctx: dict, overrides: dict) -> str:
    """The HTML of one brand summary piece (``overrides``) from the summary's context."""
    from .reports.pdf import piece_html

    rest = {k: v for k, v in ctx.items() if k != "store_chunks"}
    return piece_html("brand_summary.html", overrides, report_date=report_date(run), **rest)


def _brand_piece_pdf(part: MonthEndPart, run: MonthEndRun) -> tuple[bytes, str]:
    """A ranking piece lays out the HTML its plan rendered (``_plan_brand``); the front
    piece renders its sections here."""
    from .reports.pdf import piece_pdf

    source = piece_source_key(run, part.key)
    html = (storage.load(source).decode() if storage.exists(source)
            else _brand_piece_html(part, run))
    return (piece_pdf(html, int(part.key)),
            f"brand-summary-{run.month}-piece-{part.key}.pdf")


def _brand_pdf(part: MonthEndPart, run: MonthEndRun) -> tuple[bytes, str]:
    """The brand summary merged from its pieces (each must be done), numbered once."""
    from .reports.pdf import merge_and_stamp

    pieces = db.session.scalars(select(MonthEndPart).where(
        MonthEndPart.run_id == run.id, MonthEndPart.kind == KIND_BRAND_PIECE)
        .order_by(MonthEndPart.key)).all()
    missing = [p.key for p in pieces if p.status != PART_DONE or not p.storage_key]
    if not pieces or missing:
        raise RuntimeError(f"Brand summary pieces not built yet: {', '.join(missing)}")
    data = merge_and_stamp((storage.load(p.storage_key) for p in pieces),
                           title=_("Brand summary"))
    for piece in pieces:  # the planned HTML is not needed any more
        storage.delete(piece_source_key(run, piece.key))
    return data, f"brand-summary-{run.month}.pdf"


BUILDERS = {
    KIND_STORE: _store_pdf,
    KIND_REGION: _region_pdf,
    KIND_BRAND_PIECE: _brand_piece_pdf,
    KIND_BRAND: _brand_pdf,
}


def merge_ready(run_id: int) -> bool:
    """Mark the brand summary's merge queued when every piece is done and the merge still
    waits; True for the one caller that did (it then builds or enqueues the merge)."""
    undone = select(func.count(MonthEndPart.id)).where(
        MonthEndPart.run_id == run_id, MonthEndPart.kind == KIND_BRAND_PIECE,
        MonthEndPart.status != PART_DONE).scalar_subquery()
    return bool(db.session.execute(
        update(MonthEndPart)
        .where(MonthEndPart.run_id == run_id, MonthEndPart.kind == KIND_BRAND,
               MonthEndPart.status.in_((PART_PENDING, PART_FAILED)), undone == 0)
        .values(status=PART_QUEUED, queued_at=utcnow(), job_id=None)).rowcount)


# --- progress ------------------------------------------------------------------------------


@dataclass
class Progress:
    total: int
    done: int
    failed: int
    running: int
    remaining: int
    by_kind: dict[str, dict[str, int]]

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done == self.total


def progress(run: MonthEndRun) -> Progress:
    """Counts of the run's parts by state (one GROUP BY)."""
    by_kind: dict[str, dict[str, int]] = {}
    for kind, status, n in db.session.execute(
            select(MonthEndPart.kind, MonthEndPart.status, func.count(MonthEndPart.id))
            .where(MonthEndPart.run_id == run.id)
            .group_by(MonthEndPart.kind, MonthEndPart.status)):
        by_kind.setdefault(kind, {})[status] = n
    states: dict[str, int] = {}
    for counts in by_kind.values():
        for status, n in counts.items():
            states[status] = states.get(status, 0) + n
    total = sum(states.values())
    done, failed = states.get(PART_DONE, 0), states.get(PART_FAILED, 0)
    return Progress(total=total, done=done, failed=failed,
                    running=states.get(PART_RUNNING, 0),
                    remaining=total - done - failed, by_kind=by_kind)


def failed_parts(run: MonthEndRun, limit: int = 200) -> list[MonthEndPart]:
    """The run's failed parts, and those running for longer than any job may (their
    worker died): both can be re-run."""
    stale = (MonthEndPart.status == PART_RUNNING) & (
        MonthEndPart.started_at < utcnow() - STALE_AFTER)
    return list(db.session.scalars(
        select(MonthEndPart).where(MonthEndPart.run_id == run.id,
                                   (MonthEndPart.status == PART_FAILED) | stale)
        .order_by(MonthEndPart.id).limit(limit)))


def done_part(run: MonthEndRun, kind: str, key: str) -> MonthEndPart | None:
    return db.session.scalar(select(MonthEndPart).where(
        MonthEndPart.run_id == run.id, MonthEndPart.kind == kind, MonthEndPart.key == key,
        MonthEndPart.status == PART_DONE))


def region_parts(run: MonthEndRun) -> list[tuple[MonthEndPart, Region]]:
    return list(db.session.execute(
        select(MonthEndPart, Region).join(Region, Region.id == MonthEndPart.region_id)
        .where(MonthEndPart.run_id == run.id, MonthEndPart.kind == KIND_REGION)
        .order_by(Region.name)))


def store_reports(store_ids, locale: str | None = None, limit: int = 48):
    """The finished store reports of closed months for ``store_ids`` (a select of ids),
    newest month first, at most ``limit``: (part, month, store) rows — one per store and
    month: the one in ``locale`` when the run built one, else the run's."""
    from sqlalchemy.orm import aliased

    from .models import MonthClosure

    other = aliased(MonthEndPart)
    in_locale = (select(other.id).where(
        other.run_id == MonthEndPart.run_id, other.kind == KIND_STORE,
        other.store_id == MonthEndPart.store_id, other.locale == locale,
        other.status == PART_DONE).exists())
    query = (select(MonthEndPart, MonthEndRun.month, Store)
             .join(MonthEndRun, MonthEndRun.id == MonthEndPart.run_id)
             .join(MonthClosure, MonthClosure.month == MonthEndRun.month)
             .join(Store, Store.id == MonthEndPart.store_id)
             .where(MonthEndPart.kind == KIND_STORE, MonthEndPart.status == PART_DONE,
                    MonthEndPart.store_id.in_(store_ids),
                    or_(MonthEndPart.locale == locale,
                        MonthEndPart.locale.is_(None) & ~in_locale))
             .order_by(MonthEndRun.month.desc(), Store.code).limit(limit))
    return list(db.session.execute(query))


def zip_stream(run: MonthEndRun):
    """Every finished store report of the run (in the run's language) as one ZIP, yielded in
    chunks: one PDF in memory at a time (stored, not deflated: PDFs are compressed already)."""
    import zipfile

    class _Sink:
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def write(self, data: bytes) -> int:
            self.chunks.append(bytes(data))
            return len(data)

        def flush(self) -> None:
            pass

        def take(self) -> bytes:
            out, self.chunks = b"".join(self.chunks), []
            return out

    rows = db.session.execute(
        select(MonthEndPart.storage_key, MonthEndPart.filename)
        .where(MonthEndPart.run_id == run.id, MonthEndPart.kind == KIND_STORE,
               MonthEndPart.locale.is_(None), MonthEndPart.status == PART_DONE)
        .order_by(MonthEndPart.filename)).all()
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, filename in rows:
            if storage.exists(key):
                archive.writestr(filename, storage.load(key))
                yield sink.take()
    yield sink.take()
