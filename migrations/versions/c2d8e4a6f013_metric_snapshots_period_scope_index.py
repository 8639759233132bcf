"""metric snapshots by period and scope: one range for a period's rows (the engine) and for one scope's within it (Today, a scope's page)

Replaces ix_metric_snapshots_scope_period (scope_type, period_type, period_start), whose leading
column has four values: a period's rows were read by scanning the whole index, and an installer's
Today figures by every stored period of their scope (a read that grew with the history).

Revision ID: c2d8e4a6f013
Revises: a7c3e5f91d24
Create Date: 2026-12-07 14:50:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c2d8e4a6f013'
down_revision = 'a7c3e5f91d24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_metric_snapshots_period_scope',
                              ['period_type', 'period_start', 'scope_type', 'scope_id'], unique=False)
        batch_op.drop_index('ix_metric_snapshots_scope_period')


def downgrade():
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_metric_snapshots_scope_period', ['scope_type', 'period_type', 'period_start'],
                              unique=False)
        batch_op.drop_index('ix_metric_snapshots_period_scope')
