"""questionnaire engine: item settings per type, conditions, follow-ups, text answers

Revision ID: s3e1a7c9d2f4
Revises: s3c1a2b3c4d5
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's3e1a7c9d2f4'
down_revision = "s3c1a2b3c4d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('config', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('condition', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('require_comment', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('require_photo', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('dimensions') as batch:
        batch.add_column(sa.Column('condition', sa.JSON(), nullable=True))
    with op.batch_alter_table('answers') as batch:
        batch.add_column(sa.Column('text', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('answers') as batch:
        batch.drop_column('text')
    with op.batch_alter_table('dimensions') as batch:
        batch.drop_column('condition')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('require_photo')
        batch.drop_column('require_comment')
        batch.drop_column('condition')
        batch.drop_column('config')
