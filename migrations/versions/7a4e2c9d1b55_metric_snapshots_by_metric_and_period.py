"""metric snapshots by metric and period: one range for every installer's weeks (suggestions)

Revision ID: 7a4e2c9d1b55
Revises: 3c1d2a7b9e40
Create Date: 2026-12-02 14:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a4e2c9d1b55'
down_revision = '3c1d2a7b9e40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_metric_snapshots_metric_period',
                              ['metric', 'scope_type', 'period_type', 'period_start'], unique=False)


def downgrade():
    with op.batch_alter_table('metric_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_metric_snapshots_metric_period')
