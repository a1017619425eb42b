"""area managers: the regions each is given

Revision ID: h5a1b2c3d4e5
Revises: 913b889e3d0c
Create Date: 2026-11-29 03:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'h5a1b2c3d4e5'
down_revision = '913b889e3d0c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('area_manager_regions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_area_manager_regions_region_id_regions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_area_manager_regions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'region_id', name=op.f('pk_area_manager_regions'))
    )


def downgrade():
    op.drop_table('area_manager_regions')
