"""month-end parts: their language, and when and as which job they were queued (issue #22)

Revision ID: s4a1b2c3d4e5
Revises: s4n1a2b3c4d5
Create Date: 2026-12-07 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's4a1b2c3d4e5'
down_revision = "s4n1a2b3c4d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('month_end_parts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('job_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('month_end_parts', schema=None) as batch_op:
        batch_op.drop_column('job_id')
        batch_op.drop_column('queued_at')
        batch_op.drop_column('locale')
