"""Questionnaires, versioned: dimensions (sections) with weighted items.

A questionnaire is a family (``code``) with numbered versions. Only a draft can be
edited; publishing freezes it. A visit points to the exact version it was answered on,
so later versions never change an old visit's score.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import scoring
from ..extensions import db
from .base import utcnow

KIND_MYSTERY = "mystery"
KIND_QA = "qa"
QUESTIONNAIRE_KINDS = (KIND_MYSTERY, KIND_QA)

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"


class Questionnaire(db.Model):
    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_questionnaires_code_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    #: ``mystery`` (also used for competitor visits) or ``qa``.
    kind: Mapped[str] = mapped_column(String(20), default=KIND_MYSTERY)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    dimensions: Mapped[list[Dimension]] = relationship(
        back_populates="questionnaire",
        order_by="Dimension.position",
        cascade="all, delete-orphan",
    )

    @property
    def items(self) -> list[Item]:
        return [item for d in self.dimensions for item in d.items]

    @property
    def dimension_weights(self) -> dict[str, float]:
        return {d.code: d.weight for d in self.dimensions}

    def __repr__(self) -> str:
        return f"<Questionnaire {self.code} v{self.version} {self.status}>"


class Dimension(db.Model):
    __tablename__ = "dimensions"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "code", name="uq_dimensions_questionnaire_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True
    )
    #: One of ``scoring.DIMENSIONS``.
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120), default="")
    weight: Mapped[float] = mapped_column(default=scoring.DEFAULT_DIMENSION_WEIGHT)
    position: Mapped[int] = mapped_column(default=0)
    #: When the whole dimension is asked (``auditapp/conditions.py``): e.g.
    #: ``{"visit_types": ["dine_in"], "kinds": ["mystery"]}``; None: always.
    condition: Mapped[dict | None] = mapped_column(JSON)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="dimensions")
    items: Mapped[list[Item]] = relationship(
        back_populates="dimension", order_by="Item.position", cascade="all, delete-orphan"
    )


class Item(db.Model):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension_id: Mapped[int] = mapped_column(
        ForeignKey("dimensions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    text_zh: Mapped[str] = mapped_column(Text, default="")
    guidance: Mapped[str] = mapped_column(Text, default="")
    guidance_zh: Mapped[str] = mapped_column(Text, default="")
    #: One of ``scoring.ITEM_TYPES``; its behaviour is ``auditapp.item_types.of(item)``.
    item_type: Mapped[str] = mapped_column(String(10))
    weight: Mapped[float] = mapped_column(default=1.0)
    critical: Mapped[bool] = mapped_column(default=False)
    allow_na: Mapped[bool] = mapped_column(default=False)
    #: For timed items: ``{"drive_thru": [T, L], "walk_in": [T, L], "dine_in": [T, L]}``.
    timed_targets: Mapped[dict | None] = mapped_column(JSON)
    #: The type's own settings: ``{"options": [{"text", "text_zh", "points"}, …]}`` for a
    #: choice, ``{"lo", "hi", "unit"}`` for a number.
    config: Mapped[dict | None] = mapped_column(JSON)
    #: When the item is asked (``auditapp/conditions.py``): visit types, kinds and/or
    #: ``{"when": {"item": "<earlier code>", "failed": true}}``; None: always.
    condition: Mapped[dict | None] = mapped_column(JSON)
    #: Follow-ups on a failed answer (SCORING.md §8): a comment and/or a photo required.
    require_comment: Mapped[bool] = mapped_column(default=False, server_default="0")
    require_photo: Mapped[bool] = mapped_column(default=False, server_default="0")
    position: Mapped[int] = mapped_column(default=0)

    dimension: Mapped[Dimension] = relationship(back_populates="items")

    def target_limit(self, visit_type: str) -> tuple[float, float]:
        return scoring.timed_target(visit_type, self.timed_targets)
