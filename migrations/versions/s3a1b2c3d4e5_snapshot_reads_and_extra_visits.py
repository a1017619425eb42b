"""closed months read from their snapshot (store code, region, errors kept); extra visits;
a covering index for the figures

Revision ID: s3a1b2c3d4e5
Revises: w7a1b2c3d4e5
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's3a1b2c3d4e5'
down_revision = "w7a1b2c3d4e5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('month_closures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complete', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('month_figures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('counted', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('region_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('brand_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ms_e2', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('bdi_e2', sa.Float(), nullable=True))
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_index('ix_visits_figures',
                              ['kind', 'status', 'visit_date', 'store_id', 'score'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_figures')
        batch_op.drop_column('extra')
    with op.batch_alter_table('month_figures', schema=None) as batch_op:
        for name in ('bdi_e2', 'ms_e2', 'brand_id', 'region_name', 'region_id', 'counted',
                     'active', 'code'):
            batch_op.drop_column(name)
    with op.batch_alter_table('month_closures', schema=None) as batch_op:
        batch_op.drop_column('complete')
