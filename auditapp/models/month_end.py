"""Month-end runs (issue #22): every report of a closed month, built as parts on the queue.

A ``MonthEndRun`` is one month's run (one per month: starting it again reuses it); its
``MonthEndPart`` rows are the pieces of work — one store's monthly PDF, one region's
summary, one part (section or ranking pages) of the brand summary and the merge of those
parts — each with its state, attempts and last error. A part is unique per run, kind and
key, so running a month twice never builds or stores anything twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .org import Region, Store

PART_PENDING, PART_QUEUED, PART_RUNNING, PART_DONE, PART_FAILED = (
    "pending", "queued", "running", "done", "failed")
PART_STATES = (PART_PENDING, PART_QUEUED, PART_RUNNING, PART_DONE, PART_FAILED)
#: Kinds of part: a store's monthly PDF, a region's summary, one piece of the brand
#: summary (``key`` is its index) and the brand summary merged from its pieces.
KIND_STORE, KIND_REGION, KIND_BRAND_PIECE, KIND_BRAND = (
    "store", "region", "brand_piece", "brand")
KINDS = (KIND_STORE, KIND_REGION, KIND_BRAND_PIECE, KIND_BRAND)


class MonthEndRun(db.Model):
    __tablename__ = "month_end_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    #: The language the reports are written in.
    locale: Mapped[str] = mapped_column(String(10), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    #: Set once the parts are planned (the parent job ran).
    planned_at: Mapped[datetime | None] = mapped_column()

    parts: Mapped[list[MonthEndPart]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="MonthEndPart.id")


class MonthEndPart(db.Model):
    __tablename__ = "month_end_parts"
    __table_args__ = (
        UniqueConstraint("run_id", "kind", "key", name="uq_month_end_parts_run_kind_key"),
        Index("ix_month_end_parts_run_status", "run_id", "status"),
        Index("ix_month_end_parts_store", "store_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("month_end_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    #: The language of a store report built for its managers in theirs; None: the run's.
    locale: Mapped[str | None] = mapped_column(String(10))
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey("regions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=PART_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    storage_key: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(200))
    pages: Mapped[int | None] = mapped_column(Integer)
    #: Peak resident memory of the process that built it (MB) and the build's wall time.
    peak_rss_mb: Mapped[int | None] = mapped_column(Integer)
    build_ms: Mapped[int | None] = mapped_column(Integer)
    #: CPU time of the process that built it (ms): in a forked job, that job's own.
    cpu_ms: Mapped[int | None] = mapped_column(Integer)
    #: When it was last handed to the queue, and the RQ job's id (a part still queued long
    #: after, whose job RQ no longer holds, was lost: ``month_end_jobs.recover_lost``).
    queued_at: Mapped[datetime | None] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    run: Mapped[MonthEndRun] = relationship(back_populates="parts")
    store: Mapped[Store | None] = relationship()
    region: Mapped[Region | None] = relationship()
