"""waiting list for freed appointments, and freed time held

Revision ID: a4d5e6f7a8b9
Revises: f3c4d5e6f7a8
Create Date: 2026-11-30 03:03:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a4d5e6f7a8b9"
down_revision = "f3c4d5e6f7a8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waitlist_hold_minutes", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rebook_delay_minutes", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column(
            "part",
            sa.Enum(
                "any", "morning", "afternoon", name="waitlistpart", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "booked",
                "left",
                name="waitliststatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("leave_token_hash", sa.String(length=64), nullable=False),
        sa.Column("passed_chain", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_waitlist_entry_range_order")),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_waitlist_entry_office_id_office"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_waitlist_entry_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entry")),
        sa.UniqueConstraint("leave_token_hash", name=op.f("uq_waitlist_entry_leave_token_hash")),
    )
    op.create_index(
        "ix_waitlist_entry_line",
        "waitlist_entry",
        ["office_id", "status", "created_at"],
        unique=False,
    )
    in_line = sa.text("status IN ('waiting', 'offered')")
    op.create_index(
        "uq_waitlist_entry_in_line",
        "waitlist_entry",
        ["service_id", "email"],
        unique=True,
        sqlite_where=in_line,
        postgresql_where=in_line,
    )
    op.create_table(
        "slot_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("claim_token_hash", sa.String(length=64), nullable=True),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_slot_hold_starts_before_ends")),
        sa.ForeignKeyConstraint(
            ["counter_id"], ["counter.id"], name=op.f("fk_slot_hold_counter_id_counter")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entry.id"],
            name=op.f("fk_slot_hold_entry_id_waitlist_entry"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_slot_hold_office_id_office"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_slot_hold_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_hold")),
        sa.UniqueConstraint("claim_token_hash", name=op.f("uq_slot_hold_claim_token_hash")),
    )
    op.create_index(op.f("ix_slot_hold_entry_id"), "slot_hold", ["entry_id"], unique=False)
    op.create_index(op.f("ix_slot_hold_expires_at"), "slot_hold", ["expires_at"], unique=False)
    op.create_table(
        "waitlist_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_waitlist_event_office_id_office"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_waitlist_event_service_id_service"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_event")),
    )
    op.create_index(
        "ix_waitlist_event_office_day", "waitlist_event", ["office_id", "day", "kind"], unique=False
    )
    # A cell belongs to a booking or to a hold: every existing cell is a booking's.
    with op.batch_alter_table("booking_slot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_id", sa.Integer(), nullable=True))
        batch_op.alter_column("booking_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_booking_slot_hold_id"), ["hold_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_booking_slot_hold_id_slot_hold"),
            "slot_hold",
            ["hold_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint("one_owner", "(booking_id IS NULL) <> (hold_id IS NULL)")


def downgrade():
    op.execute("DELETE FROM booking_slot WHERE hold_id IS NOT NULL")
    with op.batch_alter_table("booking_slot", schema=None) as batch_op:
        batch_op.drop_constraint("one_owner", type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_booking_slot_hold_id_slot_hold"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_booking_slot_hold_id"))
        batch_op.alter_column("booking_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("hold_id")
    op.drop_index("ix_waitlist_event_office_day", table_name="waitlist_event")
    op.drop_table("waitlist_event")
    op.drop_index(op.f("ix_slot_hold_expires_at"), table_name="slot_hold")
    op.drop_index(op.f("ix_slot_hold_entry_id"), table_name="slot_hold")
    op.drop_table("slot_hold")
    op.drop_index("uq_waitlist_entry_in_line", table_name="waitlist_entry")
    op.drop_index("ix_waitlist_entry_line", table_name="waitlist_entry")
    op.drop_table("waitlist_entry")
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_column("rebook_delay_minutes")
        batch_op.drop_column("waitlist_hold_minutes")
