"""Month-end reports at chain scale (issue #22): ``flask reports``, the month-end run on
real Redis with real RQ workers (burst mode) and in-process without Redis, the brand
summary rendered in pieces and merged, delivery to managers and HQ's ZIP."""

from __future__ import annotations

import io
import secrets
import zipfile
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from auditapp import month_end, month_end_jobs, storage
from auditapp.analytics import Period
from auditapp.extensions import db
from auditapp.models import MonthEndPart, MonthEndRun
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


def _assert_brand_equal(app, run: MonthEndRun) -> None:
    brand = month_end.done_part(run, KIND_BRAND, "summary")
    assert brand is not None
    merged, merged_pages = pdf_text(storage.load(brand.storage_key))
    single, single_pages = pdf_text(_single_process_brand(run))
    assert merged_pages == single_pages > 2
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
    others = {p.id: p.finished_at for p in _parts() if p.id != broken.id}
    with app.test_request_context("/"):
        assert month_end_jobs.rerun(run, [broken.id]) == 1
    db.session.expire_all()
    assert month_end.progress(run).done == 10
    assert {p.id: p.finished_at for p in _parts() if p.id != broken.id} == others
