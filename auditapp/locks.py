"""The row lock every writer of a visit takes first (see ``visit_states``).

PostgreSQL: ``SELECT … FOR UPDATE`` locks the rows. SQLite ignores ``FOR UPDATE`` and its
driver only begins a transaction at the first write, so ``locking`` first writes the rows
without changing them: that takes SQLite's database write lock (other writers wait,
``busy_timeout``), and the ``SELECT`` after it sees the latest committed values.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from .extensions import db
from .models import Visit


def locking(query: Select) -> Select:
    """``query`` (of visits, filtered on visit columns) made to read its visit fresh and
    locked until the transaction ends. On SQLite this takes the database write lock now
    (see the module's docstring), so call it first in the transaction."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = Visit.__table__
        db.session.execute(table.update().where(query.whereclause).values(id=table.c.id))
    return query.with_for_update(of=Visit).execution_options(populate_existing=True)


def lock(visit_id: int) -> Visit:
    """The visit, re-read with its row locked until the commit (the same object as any
    copy already in the session, refreshed)."""
    return db.session.execute(locking(select(Visit).where(Visit.id == visit_id))).scalar_one()
