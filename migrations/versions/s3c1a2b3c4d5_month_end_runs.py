"""month-end runs and their parts (issue #22)

Revision ID: s3c1a2b3c4d5
Revises: s3b1d2e3f4a5
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's3c1a2b3c4d5'
down_revision = "s3b1d2e3f4a5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'month_end_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('planned_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id'],
                                name=op.f('fk_month_end_runs_started_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_month_end_runs')),
        sa.UniqueConstraint('month', name=op.f('uq_month_end_runs_month')),
    )
    op.create_table(
        'month_end_parts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('region_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=True),
        sa.Column('peak_rss_mb', sa.Integer(), nullable=True),
        sa.Column('build_ms', sa.Integer(), nullable=True),
        sa.Column('cpu_ms', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['month_end_runs.id'],
                                name=op.f('fk_month_end_parts_run_id_month_end_runs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'],
                                name=op.f('fk_month_end_parts_store_id_stores'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['region_id'], ['regions.id'],
                                name=op.f('fk_month_end_parts_region_id_regions'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_month_end_parts')),
        sa.UniqueConstraint('run_id', 'kind', 'key', name='uq_month_end_parts_run_kind_key'),
    )
    with op.batch_alter_table('month_end_parts', schema=None) as batch_op:
        batch_op.create_index('ix_month_end_parts_run_status', ['run_id', 'status'],
                              unique=False)
        batch_op.create_index('ix_month_end_parts_store', ['store_id'], unique=False)


def downgrade():
    op.drop_table('month_end_parts')
    op.drop_table('month_end_runs')
