"""The audit trail: who changed what, when, from what to what (``models.AuditLog``).

A service that changes something that matters calls ``log_change`` in the same
transaction as the change, with a ``before`` and an ``after`` dict (``snapshot`` makes
one from an object's fields). The row is committed or rolled back with the change, by
whoever commits (see the transaction rule in ``auditapp/__init__.py``).
"""

from __future__ import annotations

from sqlalchemy import Row, select
from sqlalchemy.orm import aliased

from .extensions import db
from .models import AuditLog, User, utcnow


def log_change(
    entity: str,
    entity_id: object,
    action: str,
    user_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Add an audit-trail row to the current transaction (one INSERT, sent now: no ORM
    object to flush, and it goes whenever the transaction is committed or rolled back)."""
    db.session.execute(_INSERT_AUDIT, {
        "at": utcnow(), "user_id": user_id, "entity": entity, "entity_id": str(entity_id),
        "action": action, "before": before, "after": after,
    })


_INSERT_AUDIT = AuditLog.__table__.insert()


def snapshot(obj, fields: tuple[str, ...]) -> dict:
    """The named fields of ``obj`` as a dict: a ``before``/``after`` for ``log_change``."""
    return {f: getattr(obj, f) for f in fields}


# --- reading the trail ---------------------------------------------------------------------


def history(entity: str, entity_id: object) -> list[AuditLog]:
    """Everything logged about one thing, oldest first."""
    return list(db.session.scalars(
        select(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_id == str(entity_id))
        .order_by(AuditLog.at)
    ))


def trail(*, entity: str = "", entity_id: str = "", action: str = "", limit: int = 50,
          offset: int = 0) -> list[Row]:
    """The newest audit rows first, each as (AuditLog, author name, author username),
    filtered by entity, entity id and action when given."""
    author = aliased(User)
    q = (select(AuditLog, author.name, author.username)
         .outerjoin(author, author.id == AuditLog.user_id)
         .order_by(AuditLog.at.desc(), AuditLog.id.desc()))
    if entity:
        q = q.where(AuditLog.entity == entity)
    if entity_id:
        q = q.where(AuditLog.entity_id == entity_id)
    if action:
        q = q.where(AuditLog.action == action)
    return list(db.session.execute(q.limit(limit).offset(offset)).all())


def entities() -> list[str]:
    """The kinds of thing the trail holds rows about (visit, dispute, …)."""
    return list(db.session.scalars(
        select(AuditLog.entity).distinct().order_by(AuditLog.entity)))
