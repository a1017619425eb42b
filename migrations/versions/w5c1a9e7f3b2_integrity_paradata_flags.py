"""integrity: visit paradata, photo metadata, soft flags, store opening hours

Revision ID: w5c1a9e7f3b2
Revises: w3a1c2e4b6d8
Create Date: 2026-11-29 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'w5c1a9e7f3b2'
down_revision = 'w3a1c2e4b6d8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'visit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=True),
        sa.Column('server_at', sa.DateTime(), nullable=False),
        sa.Column('client_at', sa.DateTime(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'],
                                name=op.f('fk_visit_events_item_id_items')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE',
                                name=op.f('fk_visit_events_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_events')),
    )
    op.create_index('ix_visit_events_visit_kind', 'visit_events', ['visit_id', 'kind'],
                    unique=False)
    op.create_table(
        'photo_meta',
        sa.Column('photo_id', sa.Integer(), nullable=False),
        sa.Column('taken_at', sa.DateTime(), nullable=True),
        sa.Column('latitude', sa.Double(), nullable=True),
        sa.Column('longitude', sa.Double(), nullable=True),
        sa.Column('camera_make', sa.String(length=100), nullable=False),
        sa.Column('camera_model', sa.String(length=100), nullable=False),
        sa.Column('phash', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], ondelete='CASCADE',
                                name=op.f('fk_photo_meta_photo_id_photos')),
        sa.PrimaryKeyConstraint('photo_id', name=op.f('pk_photo_meta')),
    )
    op.create_index(op.f('ix_photo_meta_phash'), 'photo_meta', ['phash'], unique=False)
    op.create_table(
        'visit_flags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE',
                                name=op.f('fk_visit_flags_visit_id_visits')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_flags')),
    )
    op.create_index(op.f('ix_visit_flags_code'), 'visit_flags', ['code'], unique=False)
    op.create_index(op.f('ix_visit_flags_visit_id'), 'visit_flags', ['visit_id'], unique=False)
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.Time(), nullable=True))


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
    op.drop_index(op.f('ix_visit_flags_visit_id'), table_name='visit_flags')
    op.drop_index(op.f('ix_visit_flags_code'), table_name='visit_flags')
    op.drop_table('visit_flags')
    op.drop_index(op.f('ix_photo_meta_phash'), table_name='photo_meta')
    op.drop_table('photo_meta')
    op.drop_index('ix_visit_events_visit_kind', table_name='visit_events')
    op.drop_table('visit_events')
