"""job run claims: a token and a lease per claim, and the attempts

Revision ID: 3c1d2a7b9e40
Revises: e349eb5cd4e6
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = '3c1d2a7b9e40'
down_revision = 'e349eb5cd4e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claim_token')
