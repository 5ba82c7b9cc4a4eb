"""office and service: counter time held back for walk-ins

Revision ID: f3c4d5e6f7a8
Revises: e2b3c4d5e6f7
Create Date: 2026-11-30 03:02:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3c4d5e6f7a8'
down_revision = 'e2b3c4d5e6f7'
branch_labels = None
depends_on = None


def upgrade():
    # Existing offices hold nothing back; a service without its own share follows its office.
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('walk_in_share', sa.Integer(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walk_in_share', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('walk_in_share')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('walk_in_share')
