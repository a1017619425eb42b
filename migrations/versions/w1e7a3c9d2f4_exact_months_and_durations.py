"""exact months and durations: complaint local day, full resolution time, store deactivation day

Revision ID: w1e7a3c9d2f4
Revises: h2a7c1e5d9b3
Create Date: 2026-11-29 04:50:00

SCORING.md §7a: a complaint counts in the month of its receipt in the store's local time
(``complaints.received_on``); the 48 h rule uses the full duration (``resolution_seconds``
becomes a float with microseconds); a deactivated store keeps counting in the months up to
its deactivation (``stores.deactivated_on``: taken from the audit trail where it recorded
the deactivation, else the day of this migration, so no past month loses the store).
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'w1e7a3c9d2f4'
down_revision = 'h2a7c1e5d9b3'
branch_labels = None
depends_on = None


def _local_day(utc: datetime, tz: str | None):
    return utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz or "Asia/Shanghai")).date()


def _as_datetime(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def upgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_on', sa.Date(), nullable=True))
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.alter_column('resolution_seconds', existing_type=sa.Integer(),
                              type_=sa.Double(), existing_nullable=True)

    conn = op.get_bind()
    zones = dict(conn.execute(sa.text("SELECT id, timezone FROM stores")).all())
    rows = conn.execute(sa.text(
        "SELECT id, store_id, received_at, resolved_at FROM complaints")).all()
    for cid, store_id, received, resolved in rows:
        received, resolved = _as_datetime(received), _as_datetime(resolved)
        seconds = (max(0.0, (resolved - received).total_seconds())
                   if resolved is not None else None)
        conn.execute(
            sa.text("UPDATE complaints SET received_on = :day, resolution_seconds = :s "
                    "WHERE id = :id"),
            {"day": _local_day(received, zones.get(store_id)), "s": seconds, "id": cid},
        )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    inactive = conn.execute(sa.text(
        "SELECT id, timezone FROM stores WHERE active = :no"), {"no": False}).all()
    for store_id, tz in inactive:
        at = conn.execute(sa.text(
            "SELECT max(at) FROM audit_log WHERE entity = 'store' AND entity_id = :id "
            "AND action = 'deactivate'"), {"id": str(store_id)}).scalar()
        conn.execute(sa.text("UPDATE stores SET deactivated_on = :day WHERE id = :id"),
                     {"day": _local_day(_as_datetime(at) or now, tz), "id": store_id})

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.alter_column('received_on', existing_type=sa.Date(), nullable=False)
        batch_op.create_index(batch_op.f('ix_complaints_received_on'), ['received_on'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_received_on'))
        batch_op.alter_column('resolution_seconds', existing_type=sa.Double(),
                              type_=sa.Integer(), existing_nullable=True)
        batch_op.drop_column('received_on')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('deactivated_on')
