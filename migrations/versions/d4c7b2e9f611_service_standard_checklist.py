"""service standard (规范制度): versioned checklists per job type, the version of each order, step ticks

Revision ID: d4c7b2e9f611
Revises: a3e5c8f1b720
Create Date: 2026-12-02 21:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = 'd4c7b2e9f611'
down_revision = 'a3e5c8f1b720'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'standard_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_type_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('valid_from', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_standard_versions_created_by_id_users')),
        sa.ForeignKeyConstraint(['job_type_id'], ['job_types.id'], name=op.f('fk_standard_versions_job_type_id_job_types')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_versions')),
        sa.UniqueConstraint('job_type_id', 'number', name=op.f('uq_standard_versions_job_type_id_number')),
    )
    op.create_table(
        'standard_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('text_zh', sa.String(length=200), nullable=False),
        sa.Column('text_en', sa.String(length=200), nullable=False),
        sa.Column('phase', sa.Enum('before_arrival', 'on_site', 'at_completion', name='standard_phase',
                                   native_enum=False, create_constraint=True, length=14), nullable=False),
        sa.Column('is_required', sa.Boolean(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['standard_versions.id'],
                                name=op.f('fk_standard_steps_version_id_standard_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_steps')),
        sa.UniqueConstraint('version_id', 'code', name=op.f('uq_standard_steps_version_id_code')),
    )
    op.create_table(
        'order_standards',
        sa.Column('work_order_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['standard_versions.id'],
                                name=op.f('fk_order_standards_version_id_standard_versions')),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'],
                                name=op.f('fk_order_standards_work_order_id_work_orders'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('work_order_id', name=op.f('pk_order_standards')),
    )
    with op.batch_alter_table('order_standards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_standards_version_id'), ['version_id'], unique=False)
    op.create_table(
        'step_ticks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('work_order_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=True),
        sa.Column('ticked_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ticked_by_id', sa.Integer(), nullable=True),
        sa.Column('dispatch_lag_seconds', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ticked_by_id'], ['users.id'], name=op.f('fk_step_ticks_ticked_by_id_users')),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_step_ticks_visit_id_visits')),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'],
                                name=op.f('fk_step_ticks_work_order_id_work_orders'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_step_ticks')),
        sa.UniqueConstraint('work_order_id', 'code', name=op.f('uq_step_ticks_work_order_id_code')),
    )
    with op.batch_alter_table('step_ticks', schema=None) as batch_op:
        batch_op.create_index('ix_step_ticks_code_ticked_at', ['code', 'ticked_at'], unique=False)


def downgrade():
    op.drop_table('step_ticks')
    op.drop_table('order_standards')
    op.drop_table('standard_steps')
    op.drop_table('standard_versions')
