"""placards: each installer's public code for the stable rating page printed on their 双评议 card

Revision ID: b5e81c4a2f03
Revises: b4e1d7c3a925
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = 'b5e81c4a2f03'
down_revision = 'b4e1d7c3a925'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('placards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('installer_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('issued_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['installer_id'], ['users.id'], name=op.f('fk_placards_installer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_placards_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placards')),
    sa.UniqueConstraint('code', name=op.f('uq_placards_code')),
    sa.UniqueConstraint('installer_id', name=op.f('uq_placards_installer_id'))
    )


def downgrade():
    op.drop_table('placards')
