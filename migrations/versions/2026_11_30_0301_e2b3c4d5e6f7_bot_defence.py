"""office: a proof-of-work challenge for online booking

Revision ID: e2b3c4d5e6f7
Revises: d1a2b3c4d5e6
Create Date: 2026-11-30 03:01:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2b3c4d5e6f7'
down_revision = 'd1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('bot_challenge', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Spent proof-of-work solutions, until their challenges expire (booking/challenge.py).
    op.create_table(
        'used_challenge',
        sa.Column('signature', sa.String(length=128), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('signature', name=op.f('pk_used_challenge')),
    )
    with op.batch_alter_table('used_challenge', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_used_challenge_expires_at'), ['expires_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('used_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_challenge_expires_at'))
    op.drop_table('used_challenge')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('bot_challenge')
