"""audit log: every admin change, who and when, before and after

Revision ID: c7a2d9e4f150
Revises: 5d8b3f1a6c27
Create Date: 2026-12-02 20:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = 'c7a2d9e4f150'
down_revision = '5d8b3f1a6c27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=48), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=False),
        sa.Column('object_key', sa.String(length=64), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_actor_at', ['actor_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)


def downgrade():
    op.drop_table('audit_log')
