"""offices that stay open on public holidays (the demo office open around the clock)

Revision ID: 5f6f287350fa
Revises: 1a4342218e4f
Create Date: 2026-11-29 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f6f287350fa'
down_revision = '1a4342218e4f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_holidays', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('public_holidays')
