"""The chain: brands, regions, stores and the competitor stores we benchmark against."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Brand(db.Model):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    regions: Mapped[list[Region]] = relationship(back_populates="brand")

    def __repr__(self) -> str:
        return f"<Brand {self.code}>"


class Region(db.Model):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    brand: Mapped[Brand] = relationship(back_populates="regions")
    stores: Mapped[list[Store]] = relationship(back_populates="region", order_by="Store.code")

    def __repr__(self) -> str:
        return f"<Region {self.code}>"


class Store(db.Model):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    has_drive_thru: Mapped[bool] = mapped_column(default=False)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: Opening hours in the store's time zone, when known (closing before opening: open
    #: past midnight).
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]
    active: Mapped[bool] = mapped_column(default=True)
    #: The day (store local time) it was deactivated; None while active. A deactivated
    #: store still counts in the months up to this day's month (SCORING.md §7a).
    deactivated_on: Mapped[date | None]

    region: Mapped[Region] = relationship(back_populates="stores")

    def __repr__(self) -> str:
        return f"<Store {self.code}>"


@event.listens_for(Store.active, "set")
def _remember_deactivation(store: Store, value: bool, old, initiator) -> None:
    """Deactivating a store remembers the day (its local time); reactivating forgets it."""
    if value:
        store.deactivated_on = None
    elif old is not False:
        now = datetime.now(ZoneInfo(store.timezone or "Asia/Shanghai"))
        store.deactivated_on = now.date()


class CompetitorStore(db.Model):
    """A store of another chain, visited with the same questionnaire as a benchmark."""

    __tablename__ = "competitor_stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    competitor: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    has_drive_thru: Mapped[bool] = mapped_column(default=False)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region | None] = relationship()
