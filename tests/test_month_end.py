"""Month-end reports at chain scale (issue #22): ``flask reports``, the month-end run on
real Redis with real RQ workers (burst mode) and in-process without Redis, the brand
summary rendered in pieces and merged, delivery to managers and HQ's ZIP."""

from __future__ import annotations

import io
import secrets
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from auditapp import month_end, month_end_jobs, storage
from auditapp.analytics import Period
from auditapp.extensions import db
from auditapp.models import MonthEndPart, MonthEndRun, Notification, OutboxMessage, utcnow
from auditapp.models.month_end import (
    KIND_BRAND,
    KIND_BRAND_PIECE,
    KIND_REGION,
    KIND_STORE,
    PART_DONE,
    PART_FAILED,
)
from auditapp.reports import context as report_context

from .factories import make_visit

REDIS_URL = "redis://127.0.0.1:6379/0"
MONTH = "2026-05"
CHUNKS = report_context.chunks


def pdf_text(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() or "" for p in reader.pages), len(reader.pages)


@pytest.fixture
def month_data(app, chain, monkeypatch):
    """Visits in May 2026 at every store; the ranking in tables of one store and the brand
    summary in pieces of two stores, so even this small chain is built in several pieces."""
    for store in chain.stores:
        make_visit(chain, store)
    db.session.commit()
    monkeypatch.setattr(report_context, "chunks", lambda rows, size=1: (
        [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]))
    app.config.update(MONTH_END_PIECE_ROWS=2, REPORT_PART_ROWS=2, REDIS_URL=None)
    return chain


def _parts(kind: str | None = None) -> list[MonthEndPart]:
    query = select(MonthEndPart).order_by(MonthEndPart.id)
    if kind:
        query = query.where(MonthEndPart.kind == kind)
    return list(db.session.scalars(query))


# --- flask reports … ------------------------------------------------------------------------


def test_cli_writes_each_report(runner, chain, month_data, tmp_path):
    visit = make_visit(chain, chain.stores[0])
    db.session.commit()
    out = tmp_path / "store.pdf"
    result = runner.invoke(args=["reports", "store", "E001", "--month", MONTH, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, pages = pdf_text(out.read_bytes())
    assert "上海南京西路店" in text and "Store monthly report" in text and pages >= 1

    out = tmp_path / "brand.pdf"
    result = runner.invoke(args=["reports", "brand", "--month", MONTH, "-o", str(out),
                                 "--locale", "zh_CN"])
    assert result.exit_code == 0, result.output
    text, _pages = pdf_text(out.read_bytes())
    assert "北京王府井店" in text and "Hangzhou Lake" in text and "门店排名" in text

    out = tmp_path / "region.pdf"
    result = runner.invoke(args=["reports", "region", "NORTH", "--month", MONTH,
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, _pages = pdf_text(out.read_bytes())
    assert "North 华北 region" in text and "Tianjin Binjiang" in text
    assert "Hangzhou Lake" not in text.split("Store ranking", 1)[1]

    out = tmp_path / "visit.pdf"
    result = runner.invoke(args=["reports", "visit", str(visit.id), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, _pages = pdf_text(out.read_bytes())
    assert "Visit report" in text and "MS-101" not in text
    result = runner.invoke(args=["reports", "visit", str(visit.id), "--with-shopper",
                                 "-o", str(out)])
    assert "MS-101" in pdf_text(out.read_bytes())[0]


def test_cli_refuses_unknown_things(runner, chain):
    result = runner.invoke(args=["reports", "store", "NOPE", "--month", MONTH, "-o", "x.pdf"])
    assert result.exit_code == 2 and "NOPE" in result.output
    result = runner.invoke(args=["reports", "brand", "--month", "2026-13"])
    assert result.exit_code == 2
    result = runner.invoke(args=["reports", "region", "NOPE", "--month", MONTH])
    assert result.exit_code == 2


# --- the run without Redis (in this process) ------------------------------------------------


def _single_process_brand(run: MonthEndRun) -> bytes:
    """The brand summary as the app renders it in one process (its own pieces, joined)."""
    from flask_babel import force_locale

    from auditapp.reports.pdf import brand_summary_pdf

    with force_locale(run.locale):
        return brand_summary_pdf(Period.month(run.month), report_date=month_end.report_date(run))[0]


def _assert_brand_equal(app, run: MonthEndRun, min_pages: int = 3) -> None:
    brand = month_end.done_part(run, KIND_BRAND, "summary")
    assert brand is not None
    merged, merged_pages = pdf_text(storage.load(brand.storage_key))
    single, single_pages = pdf_text(_single_process_brand(run))
    assert merged_pages == single_pages >= min_pages
    assert merged == single
    for store in ("E001 上海南京西路店", "E002 Hangzhou Lake", "N001 北京王府井店",
                  "N002 Tianjin Binjiang"):
        assert merged.count(store) == 1, store
    assert f"Page {merged_pages} of {merged_pages}" in merged


def test_month_end_in_process_builds_every_part_once(app, runner, month_data):
    result = runner.invoke(args=["reports", "month-end", "--month", MONTH])
    assert result.exit_code == 0, result.output
    run = db.session.scalar(select(MonthEndRun))
    kinds = [p.kind for p in _parts()]
    assert kinds.count(KIND_STORE) == 4 and kinds.count(KIND_REGION) == 2
    assert kinds.count(KIND_BRAND_PIECE) == 3 and kinds.count(KIND_BRAND) == 1  # front + 2
    assert all(p.status == PART_DONE and p.attempts == 1 for p in _parts())
    assert "10 of 10 parts done, 0 failed, 0 remaining" in result.output
    text, _ = pdf_text(storage.load(month_end.done_part(run, KIND_STORE, str(
        month_data.stores[2].id)).storage_key))
    assert "北京王府井店" in text
    _assert_brand_equal(app, run)

    files = {p.storage_key for p in _parts()}
    result = runner.invoke(args=["reports", "month-end", "--month", MONTH])
    assert result.exit_code == 0
    assert len(_parts()) == 10 and {p.storage_key for p in _parts()} == files
    assert all(p.attempts == 1 for p in _parts())


def test_brand_context_is_computed_once_for_the_ranking_pieces(app, month_data, monkeypatch):
    """The plan computes the brand summary's context once and keeps each ranking piece's
    HTML through storage: the ranking pieces' jobs only lay it out (the front piece
    renders its own sections); a piece whose HTML is gone renders it again from a fresh
    context, and the merged summary is the same. The planned HTML goes with the merge."""
    from auditapp.reports import context as ctx_module

    real = ctx_module.brand_summary_context
    calls: list[object] = []

    def counted(period, region=None, progress=None):
        calls.append(region)
        return real(period, region, progress=progress)

    monkeypatch.setattr(ctx_module, "brand_summary_context", counted)
    with app.test_request_context("/"):
        run = month_end.get_or_create_run(MONTH)
        db.session.flush()
        month_end.plan(run)
        db.session.commit()
    assert calls == [None]  # the plan's
    pieces = _parts(KIND_BRAND_PIECE)
    sources = [month_end.piece_source_key(run, p.key) for p in pieces]
    assert [storage.exists(key) for key in sources] == [False, True, True]  # front, ranking
    assert "E001" in storage.load(sources[1]).decode() + storage.load(sources[2]).decode()
    storage.delete(sources[2])  # lost: this piece computes the context again
    with app.test_request_context("/"):
        month_end_jobs.run_in_process(run.id)
    assert calls.count(None) == 3  # the plan, the front piece, the piece without its HTML
    assert month_end.progress(run).done == 10
    assert not any(storage.exists(key) for key in sources)
    _assert_brand_equal(app, run)


def test_failed_part_is_retried_in_process(app, month_data, monkeypatch):
    """A part that fails once is tried again (and done); one that always fails is left
    failed with its error after 1 + RETRIES attempts, and can be re-run alone."""
    real = month_end.BUILDERS[KIND_STORE]
    calls: dict[int, int] = {}

    def flaky(part, run):
        calls[part.id] = calls.get(part.id, 0) + 1
        if part.store_id == month_data.stores[0].id and calls[part.id] == 1:
            raise OSError("disk hiccup")
        if part.store_id == month_data.stores[1].id:
            raise ValueError("store data broken")
        return real(part, run)

    monkeypatch.setitem(month_end.BUILDERS, KIND_STORE, flaky)
    with app.test_request_context("/"):
        run = month_end_jobs.start(MONTH)
    state = month_end.progress(run)
    assert (state.total, state.done, state.failed) == (10, 9, 1)
    first = next(p for p in _parts(KIND_STORE) if p.store_id == month_data.stores[0].id)
    assert first.status == PART_DONE and first.attempts == 2
    broken = month_end.failed_parts(run)[0]
    assert broken.store_id == month_data.stores[1].id
    assert broken.attempts == 1 + month_end.RETRIES and "store data broken" in broken.error

    monkeypatch.setitem(month_end.BUILDERS, KIND_STORE, real)
    # a part whose worker died while running it: re-run once it is older than any job
    lost = _parts(KIND_REGION)[0]
    lost.status, lost.started_at = "running", utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert [p.id for p in month_end.failed_parts(run)] == [broken.id]
    lost.started_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    assert [p.id for p in month_end.failed_parts(run)] == [broken.id, lost.id]
    with app.test_request_context("/"):
        assert month_end_jobs.rerun(run, [lost.id]) == 1
    db.session.expire_all()
    assert lost.status == PART_DONE and lost.attempts == 2
    others = {p.id: p.finished_at for p in _parts() if p.id != broken.id}
    with app.test_request_context("/"):
        assert month_end_jobs.rerun(run, [broken.id]) == 1
    db.session.expire_all()
    assert month_end.progress(run).done == 10
    assert {p.id: p.finished_at for p in _parts() if p.id != broken.id} == others


def test_stores_deactivated_during_the_month_are_in_its_run(app, month_data):
    """A store closed during the month still counts for it (``analytics.counts_in``): its
    report is built; one closed before the month is not."""
    from datetime import date

    during, before = month_data.stores[3], month_data.stores[1]
    during.active, during.deactivated_on = False, date(2026, 5, 20)
    before.active, before.deactivated_on = False, date(2026, 4, 30)
    db.session.commit()
    with app.test_request_context("/"):
        run = month_end_jobs.start(MONTH)
    assert sorted(p.store_id for p in _parts(KIND_STORE)) == sorted(
        s.id for s in month_data.stores if s is not before)
    assert month_end.progress(run).failed == 0
    text, _ = pdf_text(storage.load(month_end.done_part(run, KIND_STORE, str(during.id))
                                    .storage_key))
    assert "Tianjin Binjiang" in text and "Store monthly report" in text


def test_store_report_queries_do_not_grow_with_its_actions(app, month_data):
    """The store report reads its open corrective actions, their visits and items in a
    fixed number of statements, however many actions the store has."""
    from datetime import date

    from sqlalchemy import event

    from auditapp.models import CorrectiveAction
    from auditapp.models.followup import SOURCE_AUTO
    from auditapp.reports.views import store_month_document

    store = month_data.stores[0]

    def statements() -> int:
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with app.test_request_context("/"):
                store_month_document(db.session.get(type(store), store.id),
                                     Period.month(MONTH), date(2026, 6, 1))
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(seen)

    def add_action(day: int) -> None:
        # still open from an earlier month's visit, automatic: it names its failed item
        visit = make_visit(month_data, store, visit_date=date(2026, 3, day))
        db.session.add(CorrectiveAction(visit=visit, answer=visit.answers[0],
                                        action=f"Fix it ({day})", owner="Crew",
                                        source=SOURCE_AUTO, due_date=date(2026, 6, day)))
        db.session.commit()

    add_action(3)
    one = statements()
    add_action(4)
    add_action(5)
    assert statements() == one


# --- closing a month; HQ's page and ZIP; managers' downloads ----------------------------------


def test_closing_a_month_builds_and_delivers_its_reports(app, client, auth, month_data):
    """The run is HQ's language (English); the manager of E001 reads Chinese: E001's
    report is built in both, and each manager gets the one in their language."""
    month_data.managers[0].email, month_data.managers[0].locale = "m.e001@mail.test", "zh_CN"
    db.session.commit()
    auth.login("hq@example.com")
    response = client.post("/hq/months/close", data={"month": MONTH})
    assert response.status_code == 303
    run = db.session.scalar(select(MonthEndRun).where(MonthEndRun.month == MONTH))
    assert month_end.progress(run).total == 0  # no worker: not built in the close request
    page = client.get(f"/hq/month-end?month={MONTH}").get_data(as_text=True)
    assert 'id="month-end-start"' in page and "still open" not in page
    assert client.post("/hq/month-end/start", data={"month": MONTH}).status_code == 303
    assert month_end.progress(run).done == 11  # built in that request (E001's twice)
    assert run.locale == "en"
    assert sorted((p.key, p.locale) for p in _parts(KIND_STORE)) == sorted(
        [(str(s.id), None) for s in month_data.stores]
        + [(f"{month_data.stores[0].id}:zh_CN", "zh_CN")])

    page = client.get(f"/hq/month-end?month={MONTH}").get_data(as_text=True)
    assert "11 of 11 parts done, 0 failed, 0 remaining." in page
    assert 'id="month-end-brand"' in page and 'http-equiv="refresh"' not in page
    brand = month_end.done_part(run, KIND_BRAND, "summary")
    with client.get(f"/hq/month-end/parts/{brand.id}.pdf") as response:
        assert response.status_code == 200
        assert "Store ranking" in pdf_text(response.get_data())[0]

    with client.get(f"/hq/month-end/runs/{run.id}/stores.zip") as response:
        assert response.status_code == 200 and response.mimetype == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = sorted(archive.namelist())
    assert names == [f"store-{s.code}-{MONTH}.pdf" for s in
                     sorted(month_data.stores, key=lambda s: s.code)]
    text, _ = pdf_text(archive.read(f"store-N001-{MONTH}.pdf"))
    assert "北京王府井店" in text and "Store monthly report" in text
    auth.logout()

    own = month_end.done_part(run, KIND_STORE, f"{month_data.stores[0].id}:zh_CN")
    own_en = month_end.done_part(run, KIND_STORE, str(month_data.stores[0].id))
    other = month_end.done_part(run, KIND_STORE, str(month_data.stores[2].id))
    assert "门店月度报告" in pdf_text(storage.load(own.storage_key))[0]
    assert "Store monthly report" in pdf_text(storage.load(own_en.storage_key))[0]
    notes = db.session.scalars(select(Notification).where(
        Notification.event == "report_ready")).all()
    assert sorted(n.user_id for n in notes) == sorted(m.id for m in month_data.managers)
    note = next(n for n in notes if n.user_id == month_data.managers[0].id)
    assert note.params == {"store": "上海南京西路店", "month": MONTH}
    assert note.link == f"/manager/reports/month-end/{own.id}.pdf"
    english = next(n for n in notes if n.user_id == month_data.managers[2].id)
    assert english.link == f"/manager/reports/month-end/{other.id}.pdf"
    mail = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.event == "report_ready", OutboxMessage.user_id == note.user_id)).one()
    assert "上海南京西路店 2026-05 的月度报告已生成。" in mail.text_body

    auth.login("m.e001@example.com")
    assert "Monthly report ready: 上海南京西路店, 2026-05" in client.get(
        "/notifications").get_data(as_text=True)
    page = client.get(f"/manager/reports?month={MONTH}").get_data(as_text=True)
    assert f"/manager/reports/month-end/{own.id}.pdf" in page
    assert f"/manager/reports/month-end/{own_en.id}.pdf" not in page  # the one in Chinese
    assert f"/manager/reports/month-end/{other.id}.pdf" not in page
    with client.get(f"/manager/reports/month-end/{own.id}.pdf") as response:
        assert response.status_code == 200
        text, _ = pdf_text(response.get_data())
    assert "上海南京西路店" in text and "门店月度报告" in text and "MS-101" not in text
    assert client.get(f"/manager/reports/month-end/{other.id}.pdf").status_code == 404
    piece = _parts(KIND_BRAND_PIECE)[0]
    assert client.get(f"/manager/reports/month-end/{piece.id}.pdf").status_code == 404
    assert client.get(f"/hq/month-end/runs/{run.id}/stores.zip").status_code == 403


def test_hq_page_starts_a_run_and_reruns_a_failed_part(app, client, auth, month_data,
                                                       monkeypatch):
    auth.login("hq@example.com")
    page = client.get(f"/hq/month-end?month={MONTH}").get_data(as_text=True)
    assert 'id="month-end-start"' in page and "still open" in page
    real = month_end.BUILDERS[KIND_REGION]

    def broken(part, run):
        raise RuntimeError("font missing")

    monkeypatch.setitem(month_end.BUILDERS, KIND_REGION, broken)
    response = client.post("/hq/month-end/start", data={"month": MONTH})
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "8 of 10 parts done, 2 failed, 0 remaining." in page
    assert 'id="month-end-failed"' in page and "RuntimeError: font missing" in page
    run = db.session.scalar(select(MonthEndRun))
    failed = month_end.failed_parts(run)
    assert [p.attempts for p in failed] == [3, 3]

    monkeypatch.setitem(month_end.BUILDERS, KIND_REGION, real)
    response = client.post(f"/hq/month-end/runs/{run.id}/rerun", data={"part": failed[0].id})
    assert response.status_code == 303
    db.session.expire_all()
    assert [p.id for p in month_end.failed_parts(run)] == [failed[1].id]
    client.post(f"/hq/month-end/runs/{run.id}/rerun", data={})
    db.session.expire_all()
    assert month_end.progress(run).done == 10


# --- on real Redis with real RQ workers ----------------------------------------------------


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
    """A queue of this test's own on the real Redis, with a worker registered as listening
    (so the app enqueues); cleans up its jobs and workers afterwards."""
    from rq import Queue, SimpleWorker
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    name = f"auditapp-test-{secrets.token_hex(6)}"
    app.config.update(REDIS_URL=REDIS_URL, RQ_QUEUE=name)
    queue = Queue(name, connection=redis_conn)
    listener = SimpleWorker([queue], connection=redis_conn,
                            name=f"listener-{secrets.token_hex(4)}")
    listener.register_birth()
    yield queue
    listener.register_death()
    redis_conn.delete(listener.key)
    ids = set(queue.get_job_ids())
    for registry in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry):
        ids.update(registry(name, connection=redis_conn).get_job_ids(cleanup=False))
    for job in Job.fetch_many(list(ids), connection=redis_conn):
        if job is not None:
            job.delete()
    queue.delete(delete_jobs=True)


def _burst(queue, max_jobs: int | None = None) -> None:
    from rq import SimpleWorker

    worker = SimpleWorker([queue], connection=queue.connection,
                          name=f"burst-{secrets.token_hex(4)}")
    worker.work(burst=True, max_jobs=max_jobs)
    worker.register_death()
    queue.connection.delete(worker.key)


def test_closing_a_month_queues_its_run(app, client, auth, month_data, rq_queue):
    auth.login("hq@example.com")
    assert client.post("/hq/months/close", data={"month": MONTH}).status_code == 303
    assert [job.func_name for job in rq_queue.jobs] == ["auditapp.month_end_jobs.plan_job"]
    _burst(rq_queue)
    db.session.expire_all()
    run = db.session.scalar(select(MonthEndRun))
    assert month_end.progress(run).done == 10


def test_run_on_rq_builds_every_part_once(app, month_data, rq_queue):
    with app.test_request_context("/"):
        run = month_end_jobs.start(MONTH)
    assert len(rq_queue) == 1 and not _parts()  # the parent job, not run yet
    _burst(rq_queue)
    db.session.expire_all()
    parts = _parts()
    assert len(parts) == 10
    assert all(p.status == PART_DONE and p.attempts == 1 for p in parts), [
        (p.kind, p.status, p.error) for p in parts]
    _assert_brand_equal(app, run)

    files = {p.storage_key for p in parts}
    with app.test_request_context("/"):
        month_end_jobs.start(MONTH)  # again: the parent finds nothing to do
    _burst(rq_queue)
    db.session.expire_all()
    assert len(_parts()) == 10 and {p.storage_key for p in _parts()} == files
    assert all(p.attempts == 1 for p in _parts())


def test_rq_retries_a_failed_part_and_reruns_it_alone(app, client, auth, month_data,
                                                       rq_queue, monkeypatch):
    real = month_end.BUILDERS[KIND_STORE]
    calls: dict[int, int] = {}
    first, second = month_data.stores[0].id, month_data.stores[1].id

    def flaky(part, run):
        calls[part.store_id] = calls.get(part.store_id, 0) + 1
        if part.store_id == first and calls[first] == 1:
            raise OSError("disk hiccup")
        if part.store_id == second:
            raise ValueError("store data broken")
        return real(part, run)

    monkeypatch.setitem(month_end.BUILDERS, KIND_STORE, flaky)
    with app.test_request_context("/"):
        run = month_end_jobs.start(MONTH)
    _burst(rq_queue)
    db.session.expire_all()
    by_store = {p.store_id: p for p in _parts(KIND_STORE)}
    assert by_store[first].status == PART_DONE and by_store[first].attempts == 2
    assert by_store[second].status == PART_FAILED
    assert by_store[second].attempts == 1 + month_end.RETRIES == calls[second]
    assert month_end.progress(run).done == 9

    monkeypatch.setitem(month_end.BUILDERS, KIND_STORE, real)
    auth.login("hq@example.com")
    client.post(f"/hq/month-end/runs/{run.id}/rerun", data={"part": by_store[second].id})
    assert len(rq_queue) == 1
    _burst(rq_queue)
    db.session.expire_all()
    assert month_end.progress(run).done == 10
    assert calls[first] == 2  # nothing else was built again


def test_run_on_forking_rq_workers_in_two_processes(app, database_url, month_data, rq_queue,
                                                    tmp_path, monkeypatch):
    """Two real `rq worker --burst` processes (forking a process per job, after warming
    up on a store report per language) share the run: every part is built exactly once,
    in the workers' processes, within 500 MB."""
    import os
    import subprocess
    import sys

    monkeypatch.setattr(report_context, "chunks", CHUNKS)  # the workers' own tables
    with app.test_request_context("/"):
        run = month_end_jobs.start(MONTH)
    _burst(rq_queue, max_jobs=1)  # the parent job: it plans the parts and enqueues them
    assert len(rq_queue) == 8
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "REDIS_URL": REDIS_URL,
           "MONTH_END_PIECE_ROWS": "2", "REPORT_PART_ROWS": "2",
           "AUDITAPP_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "testing"}
    rq = [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", REDIS_URL,
          "-w", "auditapp.month_end_jobs.ReportWorker", rq_queue.name]
    db.session.remove()
    workers = [subprocess.Popen(rq, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0].decode() for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    parts = _parts()
    assert len(parts) == 9  # 4 stores, 2 regions, front + 1 ranking piece, the merge
    assert all(p.status == PART_DONE and p.attempts == 1 for p in parts), [
        (p.kind, p.status, p.error) for p in parts]
    assert all(0 < p.peak_rss_mb < 500 for p in parts)
    assert all(f"part_job({p.id})" in "".join(outputs) for p in parts)
    assert all("part_job" in out for out in outputs)  # both workers took parts
    assert not any("Warming the report renderer up failed" in out for out in outputs)
    _assert_brand_equal(app, db.session.get(MonthEndRun, run.id), min_pages=2)


def test_parts_lost_on_the_queue_are_recovered(app, client, auth, runner, month_data,
                                               rq_queue):
    """A part left queued when its job is gone (a worker crashed before taking it, Redis
    lost it) is shown failed on the progress page once queued longer than STALE_AFTER,
    and re-run; one whose job still waits on the queue, or queued recently, is left."""
    from rq.job import Job

    with app.test_request_context("/"):
        run = month_end_jobs.start(MONTH)
    _burst(rq_queue, max_jobs=1)  # the parent job: parts queued, each with its job
    db.session.expire_all()
    stores = _parts(KIND_STORE)
    assert all(p.status == "queued" and p.job_id and p.queued_at for p in stores)
    lost, waiting, recent = stores[0], stores[1], stores[2]
    for part in (lost, recent):
        Job.fetch(part.job_id, connection=rq_queue.connection).delete()
    long_ago = utcnow() - month_end.STALE_AFTER - timedelta(minutes=1)
    lost.queued_at = waiting.queued_at = long_ago
    db.session.commit()

    auth.login("hq@example.com")
    page = client.get(f"/hq/month-end?month={MONTH}").get_data(as_text=True)
    assert 'id="month-end-failed"' in page and "Lost: queued at" in page
    db.session.expire_all()
    assert [p.id for p in month_end.failed_parts(run)] == [lost.id]
    assert waiting.status == recent.status == "queued"

    assert client.post(f"/hq/month-end/runs/{run.id}/rerun", data={}).status_code == 303
    _burst(rq_queue)
    db.session.expire_all()
    assert lost.status == waiting.status == PART_DONE
    assert recent.status == "queued"  # its job is gone too, but it is not overdue yet
    assert month_end.progress(run).done == 9

    recent.queued_at = long_ago
    db.session.commit()
    result = runner.invoke(args=["reports", "month-end", "--month", MONTH, "--rerun-failed"])
    assert result.exit_code == 0 and "1 failed part(s) started again." in result.output
    _burst(rq_queue)
    db.session.expire_all()
    assert month_end.progress(run).done == 10
    assert all(p.attempts == 1 for p in _parts())  # each built once
