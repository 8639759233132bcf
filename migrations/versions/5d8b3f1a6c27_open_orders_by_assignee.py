"""open orders by assignee: a partial index for every installer's load today (suggestions)

Revision ID: 5d8b3f1a6c27
Revises: b5f0c1d2e3a4
Create Date: 2026-12-03 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5d8b3f1a6c27'
down_revision = 'b5f0c1d2e3a4'
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'assigned', 'accepted', 'en_route', 'on_site')"


def upgrade():
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index('ix_work_orders_open_assignee', ['assignee_id', 'appointment_start'], unique=False,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_work_orders_open_assignee', postgresql_where=sa.text(OPEN),
                            sqlite_where=sa.text(OPEN))
