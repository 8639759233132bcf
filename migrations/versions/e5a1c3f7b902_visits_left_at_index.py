"""index visits by left_at, for the checklist-compliance figure (#15 item 4 in the metric engine)

Revision ID: e5a1c3f7b902
Revises: d41b7e9a2c63
Create Date: 2026-12-02 23:50:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5a1c3f7b902'
down_revision = 'd41b7e9a2c63'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_visits_left_at', 'visits', ['left_at'], unique=False)


def downgrade():
    op.drop_index('ix_visits_left_at', table_name='visits')
