"""booking: a booking may wait for the resident's confirmation by mail

Revision ID: d1a2b3c4d5e6
Revises: c3d9e1f0a6b2
Create Date: 2026-11-30 03:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d1a2b3c4d5e6"
down_revision = "c3d9e1f0a6b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confirm_by_mail", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("confirm_minutes", sa.Integer(), server_default="15", nullable=False)
        )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_by", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirm_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_booking_confirm_by"), ["confirm_by"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_booking_confirm_token_hash"), ["confirm_token_hash"]
        )


def downgrade():
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_booking_confirm_token_hash"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_booking_confirm_by"))
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirm_token_hash")
        batch_op.drop_column("confirm_by")
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_column("confirm_minutes")
        batch_op.drop_column("confirm_by_mail")
