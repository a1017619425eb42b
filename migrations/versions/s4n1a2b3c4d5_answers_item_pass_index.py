"""answers: covering index for the Insights' item pass (issue #21)

Revision ID: s4n1a2b3c4d5
Revises: s3h1a2b3c4d5
Create Date: 2026-12-07 18:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 's4n1a2b3c4d5'
down_revision = 's3h1a2b3c4d5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index('ix_answers_item_pass',
                              ['item_id', 'na', 'voided', 'visit_id', 'score', 'value'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_item_pass')
