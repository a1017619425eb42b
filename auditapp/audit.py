"""The audit trail: who changed what, when, from what to what (``models.AuditLog``).

A service that changes something that matters calls ``log_change`` in the same
transaction as the change, with a ``before`` and an ``after`` dict (``snapshot`` makes
one from an object's fields). The row is committed or rolled back with the change, by
whoever commits (see the transaction rule in ``auditapp/__init__.py``).
"""

from __future__ import annotations

from .extensions import db
from .models import AuditLog, utcnow


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
