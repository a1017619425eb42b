"""Closed months (SCORING.md §11) and the versions of HQ settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

#: The scopes of a closed month's figures.
SCOPE_STORE, SCOPE_REGION, SCOPE_BRAND = "store", "region", "brand"


class MonthClosure(db.Model):
    """A month HQ closed (``YYYY-MM``): its figures are final and never change again."""

    __tablename__ = "month_closures"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The scoring settings in force for the month when it was closed.
    settings: Mapped[dict] = mapped_column(JSON)
    #: Its figures hold everything the pages read (store code, region, errors): the
    #: month is read from them (``analytics``). False for months closed before that.
    complete: Mapped[bool] = mapped_column(default=False, server_default=false())


class MonthFigure(db.Model):
    """One store's, region's or the brand's figures of a closed month, as they stood."""

    __tablename__ = "month_figures"
    __table_args__ = (Index("ix_month_figures_month_scope", "month", "scope", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(ForeignKey("month_closures.month"))
    scope: Mapped[str] = mapped_column(String(10))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    bdi: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(30))
    rank: Mapped[int | None] = mapped_column(Integer)
    ms: Mapped[float | None] = mapped_column(Float)
    ms_visits: Mapped[int] = mapped_column(Integer, default=0)
    qa: Mapped[float | None] = mapped_column(Float)
    qa_visits: Mapped[int] = mapped_column(Integer, default=0)
    hl: Mapped[float | None] = mapped_column(Float)
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    stores_scored: Mapped[int] = mapped_column(Integer, default=0)
    # as the store stood at closing (a later move, renaming or deactivation changes nothing)
    code: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool | None]
    #: the store counted in the month's ranking, region and brand means
    counted: Mapped[bool | None]
    region_id: Mapped[int | None] = mapped_column(Integer)
    region_name: Mapped[str | None] = mapped_column(String(200))
    brand_id: Mapped[int | None] = mapped_column(Integer)
    #: SCORING.md §10: a store's σ²/n and e²; a region's or the brand's Σ e_store²
    ms_e2: Mapped[float | None] = mapped_column(Float)
    bdi_e2: Mapped[float | None] = mapped_column(Float)


class SettingVersion(db.Model):
    """One change of a setting, in force from ``effective_from`` (``YYYY-MM``) until the
    next version; a month is computed with the version in force for it."""

    __tablename__ = "setting_versions"
    __table_args__ = (Index("ix_setting_versions_key_from", "key", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    effective_from: Mapped[str] = mapped_column(String(7))
    value: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
