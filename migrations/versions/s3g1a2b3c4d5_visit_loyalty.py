"""visits.loyalty: the shopper's "would you come back / recommend this store?" answer, 0-10

Recorded beside the questionnaire, never a scored item (it is not in the BDI).

Revision ID: s3g1a2b3c4d5
Revises: s3f1a2b3c4d5
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's3g1a2b3c4d5'
down_revision = "s3f1a2b3c4d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loyalty', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_column('loyalty')
