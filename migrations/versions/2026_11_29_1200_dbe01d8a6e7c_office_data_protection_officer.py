"""the office's data protection officer, for the information notice

Revision ID: dbe01d8a6e7c
Revises: 5f6f287350fa
Create Date: 2026-11-29 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dbe01d8a6e7c'
down_revision = '5f6f287350fa'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpo_email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('dpo_address', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('dpo_address')
        batch_op.drop_column('dpo_email')
