"""standard-procedure notes (#15 item 5): notes and their links to job types and support categories

Revision ID: d41b7e9a2c63
Revises: b49b91ebab11
Create Date: 2026-12-02 21:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

import fieldsvc.db


# revision identifiers, used by Alembic.
revision = 'd41b7e9a2c63'
down_revision = 'b49b91ebab11'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'procedure_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title_zh', sa.String(length=120), nullable=False),
        sa.Column('title_en', sa.String(length=120), nullable=False),
        sa.Column('body_zh', sa.Text(), nullable=False),
        sa.Column('body_en', sa.Text(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', fieldsvc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_procedure_notes_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_notes')),
    )
    op.create_table(
        'procedure_note_categories',
        sa.Column('note_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['note_id'], ['procedure_notes.id'],
                                name=op.f('fk_procedure_note_categories_note_id_procedure_notes'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('note_id', 'category', name=op.f('pk_procedure_note_categories')),
    )
    with op.batch_alter_table('procedure_note_categories', schema=None) as batch_op:
        batch_op.create_index('ix_procedure_note_categories_category', ['category'], unique=False)
    op.create_table(
        'procedure_note_job_types',
        sa.Column('note_id', sa.Integer(), nullable=False),
        sa.Column('job_type_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['job_type_id'], ['job_types.id'],
                                name=op.f('fk_procedure_note_job_types_job_type_id_job_types'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['note_id'], ['procedure_notes.id'],
                                name=op.f('fk_procedure_note_job_types_note_id_procedure_notes'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('note_id', 'job_type_id', name=op.f('pk_procedure_note_job_types')),
    )
    with op.batch_alter_table('procedure_note_job_types', schema=None) as batch_op:
        batch_op.create_index('ix_procedure_note_job_types_job_type_id', ['job_type_id'], unique=False)


def downgrade():
    op.drop_table('procedure_note_job_types')
    op.drop_table('procedure_note_categories')
    op.drop_table('procedure_notes')
