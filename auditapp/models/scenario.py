"""Scenario shops (SCORING.md §13): scripted problems and the complaint-handling results.

A scenario is a family (``code``) with numbered versions, like a questionnaire: editing a
published scenario creates a new version, and a visit keeps the version it was given. The
result of a scenario visit (the five on-site steps, the shopper's satisfaction with how the
problem was handled, a comment, and the recovery score RS) lives in its own table, never
among the questionnaire's items or the BDI dimensions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .visit import Visit

SCENARIO_ACTIVE, SCENARIO_RETIRED = "active", "retired"


class Scenario(db.Model):
    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_scenarios_code_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    script: Mapped[str] = mapped_column(Text)
    script_zh: Mapped[str] = mapped_column(Text, default="")
    #: The visit types the scenario fits (subset of ``scoring.VISIT_TYPES``).
    visit_types: Mapped[list] = mapped_column(JSON, default=list)
    #: ``active`` (the newest version, may be assigned) or ``retired``.
    status: Mapped[str] = mapped_column(String(20), default=SCENARIO_ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<Scenario {self.code} v{self.version} {self.status}>"


class ScenarioVisit(db.Model):
    """A visit that carries a scenario, and (once submitted) how staff handled it."""

    __tablename__ = "scenario_visits"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    #: Steps 1–5 observed (True/False), None until submitted.
    step1: Mapped[bool | None]
    step2: Mapped[bool | None]
    step3: Mapped[bool | None]
    step4: Mapped[bool | None]
    step5: Mapped[bool | None]
    #: "How satisfied were you with how the problem was handled": a CSM level −90…+90.
    handling: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Recovery score RS (0–100), stored at submission (full precision).
    rs: Mapped[float | None]

    visit: Mapped[Visit] = relationship()
    scenario: Mapped[Scenario] = relationship()

    def steps(self) -> list[bool | None]:
        return [self.step1, self.step2, self.step3, self.step4, self.step5]
