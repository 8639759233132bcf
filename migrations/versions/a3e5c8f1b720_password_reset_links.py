"""password reset links: one-time, expiring, the token stored as a digest

Revision ID: a3e5c8f1b720
Revises: c7a2d9e4f150
Create Date: 2026-12-02 20:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = 'a3e5c8f1b720'
down_revision = 'c7a2d9e4f150'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'password_reset_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_password_reset_links_created_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_reset_links_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_links_token_hash')),
    )
    with op.batch_alter_table('password_reset_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_links_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('password_reset_links')
