"""device: a lobby display may show only some services and counters

Revision ID: c3d9e1f0a6b2
Revises: a5dd7cd22527
Create Date: 2026-11-30 01:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d9e1f0a6b2'
down_revision = 'a5dd7cd22527'
branch_labels = None
depends_on = None


def upgrade():
    # Existing displays show everything, as before: an empty list.
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('shown_service_ids', sa.JSON(), nullable=False, server_default='[]')
        )
        batch_op.add_column(
            sa.Column('shown_counter_ids', sa.JSON(), nullable=False, server_default='[]')
        )


def downgrade():
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('shown_counter_ids')
        batch_op.drop_column('shown_service_ids')
