"""closed months (their figures) and setting versions

Revision ID: w3a1c2e4b6d8
Revises: w1e7a3c9d2f4
Create Date: 2026-11-29 04:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'w3a1c2e4b6d8'
down_revision = 'w1e7a3c9d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('month_closures',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_month_closures_closed_by_id_users')),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_month_closures'))
    )
    op.create_table('month_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('bdi', sa.Float(), nullable=True),
    sa.Column('band', sa.String(length=30), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('ms', sa.Float(), nullable=True),
    sa.Column('ms_visits', sa.Integer(), nullable=False),
    sa.Column('qa', sa.Float(), nullable=True),
    sa.Column('qa_visits', sa.Integer(), nullable=False),
    sa.Column('hl', sa.Float(), nullable=True),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.Column('stores_scored', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['month'], ['month_closures.month'], name=op.f('fk_month_figures_month_month_closures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_month_figures'))
    )
    op.create_index('ix_month_figures_month_scope', 'month_figures', ['month', 'scope', 'ref_id'], unique=False)
    op.create_table('setting_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('effective_from', sa.String(length=7), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_setting_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setting_versions'))
    )
    op.create_index('ix_setting_versions_key_from', 'setting_versions', ['key', 'effective_from'], unique=False)


def downgrade():
    op.drop_index('ix_setting_versions_key_from', table_name='setting_versions')
    op.drop_table('setting_versions')
    op.drop_index('ix_month_figures_month_scope', table_name='month_figures')
    op.drop_table('month_figures')
    op.drop_table('month_closures')
