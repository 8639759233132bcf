"""rating reminders, expiry marks, opt-outs, praise

Revision ID: b4e1d7c3a925
Revises: 7a4e2c9d1b55
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = 'b4e1d7c3a925'
down_revision = '7a4e2c9d1b55'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('praise_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('installer_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.Enum('letter', 'banner', 'call', 'other', name='praise_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photo_filename', sa.String(length=64), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['installer_id'], ['users.id'], name=op.f('fk_praise_records_installer_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_praise_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_praise_records_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_praise_records'))
    )
    with op.batch_alter_table('praise_records', schema=None) as batch_op:
        batch_op.create_index('ix_praise_records_installer_received', ['installer_id', 'received_on'], unique=False)
        batch_op.create_index('ix_praise_records_team_received', ['team_id', 'received_on'], unique=False)

    op.create_table('reminder_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_reminder_opt_outs_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_reminder_opt_outs_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_opt_outs')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_reminder_opt_outs_customer_id'))
    )
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('expired_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=True))
    # Links that ran out before this revision are marked now, so the expiry job's first run and
    # the partial indexes below start from the links still open (a few days' worth), not history.
    op.execute("UPDATE survey_invitations SET expired_at = expires_at "
               "WHERE used_at IS NULL AND expires_at <= CURRENT_TIMESTAMP")
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_survey_invitations_pending_created', ['created_at'], unique=False, postgresql_where=sa.text('used_at IS NULL AND expired_at IS NULL AND reminded_at IS NULL'), sqlite_where=sa.text('used_at IS NULL AND expired_at IS NULL AND reminded_at IS NULL'))
        batch_op.create_index('ix_survey_invitations_pending_expires', ['expires_at'], unique=False, postgresql_where=sa.text('used_at IS NULL AND expired_at IS NULL'), sqlite_where=sa.text('used_at IS NULL AND expired_at IS NULL'))



def downgrade():
    with op.batch_alter_table('survey_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_invitations_pending_expires', postgresql_where=sa.text('used_at IS NULL AND expired_at IS NULL'), sqlite_where=sa.text('used_at IS NULL AND expired_at IS NULL'))
        batch_op.drop_index('ix_survey_invitations_pending_created', postgresql_where=sa.text('used_at IS NULL AND expired_at IS NULL AND reminded_at IS NULL'), sqlite_where=sa.text('used_at IS NULL AND expired_at IS NULL AND reminded_at IS NULL'))
        batch_op.drop_column('expired_at')
        batch_op.drop_column('reminded_at')

    op.drop_table('reminder_opt_outs')
    with op.batch_alter_table('praise_records', schema=None) as batch_op:
        batch_op.drop_index('ix_praise_records_team_received')
        batch_op.drop_index('ix_praise_records_installer_received')

    op.drop_table('praise_records')
