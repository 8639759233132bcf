"""a photo kind for support photos: sent with a request for help, not completion evidence (#15)

Revision ID: a7c3e5f91d24
Revises: e5a1c3f7b902
Create Date: 2026-12-03 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a7c3e5f91d24'
down_revision = 'e5a1c3f7b902'
branch_labels = None
depends_on = None

OLD = sa.Enum('photo', 'signature', name='photo_kind', native_enum=False, create_constraint=True, length=9)
NEW = sa.Enum('photo', 'signature', 'support', name='photo_kind', native_enum=False, create_constraint=True, length=9)
# The photos the support requests point at were stored as kind "photo" (and so counted as completion
# evidence). Those of open orders become support photos; those of completed orders stay as they were
# counted (the same file sent again with the completion was kept once: it may be its evidence).
SUPPORT_PHOTOS = "SELECT photo_id FROM support_requests WHERE photo_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('work_order_photos', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=OLD, type_=NEW, existing_nullable=False)
    op.execute(f"UPDATE work_order_photos SET kind = 'support' WHERE kind = 'photo' AND id IN ({SUPPORT_PHOTOS}) "
               "AND work_order_id IN (SELECT id FROM work_orders WHERE completed_at IS NULL)")


def downgrade():
    op.execute("UPDATE work_order_photos SET kind = 'photo' WHERE kind = 'support'")
    with op.batch_alter_table('work_order_photos', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=NEW, type_=OLD, existing_nullable=False)
