"""scenario shops (scenarios, scenario_visits) and automatic corrective actions

Revision ID: s3h1a2b3c4d5
Revises: s3g1a2b3c4d5
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's3h1a2b3c4d5'
down_revision = "s3g1a2b3c4d5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scenarios',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('title_zh', sa.String(length=200), nullable=False),
        sa.Column('script', sa.Text(), nullable=False),
        sa.Column('script_zh', sa.Text(), nullable=False),
        sa.Column('visit_types', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_scenarios_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scenarios')),
        sa.UniqueConstraint('code', 'version', name='uq_scenarios_code_version'),
    )
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenarios_code'), ['code'], unique=False)
    op.create_table(
        'scenario_visits',
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('scenario_id', sa.Integer(), nullable=False),
        sa.Column('step1', sa.Boolean(), nullable=True),
        sa.Column('step2', sa.Boolean(), nullable=True),
        sa.Column('step3', sa.Boolean(), nullable=True),
        sa.Column('step4', sa.Boolean(), nullable=True),
        sa.Column('step5', sa.Boolean(), nullable=True),
        sa.Column('handling', sa.Integer(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('rs', sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'],
                                name=op.f('fk_scenario_visits_scenario_id_scenarios')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'],
                                name=op.f('fk_scenario_visits_visit_id_visits'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_scenario_visits')),
    )
    with op.batch_alter_table('scenario_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scenario_visits_scenario_id'), ['scenario_id'],
                              unique=False)
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=False,
                                      server_default='manual'))
        batch_op.add_column(sa.Column('dimension', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('scenario_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('root_cause', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('done_note', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('evidence_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('followup_visit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reopened', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_corrective_actions_followup_visit_id_visits'), 'visits',
            ['followup_visit_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_corrective_actions_followup_visit_id_visits'), type_='foreignkey')
        for column in ('closed_at', 'reopened', 'followup_visit_id', 'evidence_key',
                       'done_note', 'root_cause', 'scenario_step', 'dimension', 'source'):
            batch_op.drop_column(column)
    with op.batch_alter_table('scenario_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenario_visits_scenario_id'))
    op.drop_table('scenario_visits')
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scenarios_code'))
    op.drop_table('scenarios')
