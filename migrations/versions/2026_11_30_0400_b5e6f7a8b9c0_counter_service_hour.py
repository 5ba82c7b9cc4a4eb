"""reports: the counters at work per local hour and service of the tickets they worked on;
the planner's statistics of tickets by service, counter and clerk

Revision ID: b5e6f7a8b9c0
Revises: a4d5e6f7a8b9
Create Date: 2026-11-30 04:00:00

"""

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5e6f7a8b9c0"
down_revision = "a4d5e6f7a8b9"
branch_labels = None
depends_on = None

COLUMNS = ("office_id", "day", "hour", "counter_id", "service_id", "tickets")


def upgrade():
    op.create_table(
        "counter_service_hour",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["counter_id"],
            ["counter.id"],
            name=op.f("fk_counter_service_hour_counter_id_counter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_counter_service_hour_office_id_office"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_counter_service_hour_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "office_id",
            "day",
            "hour",
            "counter_id",
            "service_id",
            name=op.f("pk_counter_service_hour"),
        ),
    )
    with op.batch_alter_table("counter_service_hour", schema=None) as batch_op:
        batch_op.create_index(
            "ix_counter_service_hour_service_day", ["service_id", "day"], unique=False
        )
    backfill()
    if op.get_bind().dialect.name == "postgresql":
        # The service-time report counts tickets by service, counter and clerk. Without
        # their joint number of values the planner guesses tens of thousands of groups
        # (a year of ten offices has about a thousand) and does not group in parallel.
        op.execute(
            "CREATE STATISTICS st_ticket_handled (ndistinct)"
            " ON service_id, counter_id, served_by_id FROM ticket"
        )
        op.execute("ANALYZE ticket")


def _utc(value):
    """SQLite hands the stored naive UTC back as text; PostgreSQL as a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def backfill():
    """From the audit log as the load report read it before: each ticket's work, by
    counter and local hour of the office, counts for the ticket's day and for its first
    and final service (queueing/tally.py keeps it so from now on)."""
    bind = op.get_bind()
    zones = {i: ZoneInfo(tz) for i, tz in bind.execute(sa.text("SELECT id, timezone FROM office"))}
    worked = set()
    hours = {}  # the local hour of each office's quarter hour: zones are off by quarters
    entries = bind.execute(
        sa.text(
            "SELECT a.ticket_id, a.office_id, a.counter_id, a.at FROM audit_entry a"
            " WHERE a.counter_id IS NOT NULL AND a.ticket_id IS NOT NULL"
            " AND a.action IN ('call', 'recall', 'serve', 'finish', 'phone')"
        ).execution_options(stream_results=True, yield_per=50_000)
    )
    for ticket, office, counter, at in entries:
        at = _utc(at)
        key = (office, int(at.timestamp()) // 900)
        if (hour := hours.get(key)) is None:
            hour = hours[key] = at.astimezone(zones[office]).hour
        worked.add((ticket, office, counter, hour))
    tickets = {
        i: (day, {s for s in (first, final) if s is not None})
        for i, day, first, final in bind.execute(
            sa.text("SELECT id, day, first_service_id, service_id FROM ticket")
        )
    }
    counts = Counter(
        (office, tickets[ticket][0], hour, counter, service)
        for ticket, office, counter, hour in worked
        if ticket in tickets  # an entry whose ticket is gone (SQLite keeps no keys) counts for none
        for service in tickets[ticket][1]
    )
    if counts:
        table = sa.table("counter_service_hour", *(sa.column(c) for c in COLUMNS))
        op.bulk_insert(
            table, [dict(zip(COLUMNS, (*k, n), strict=True)) for k, n in sorted(counts.items())]
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_ticket_handled")
    op.drop_table("counter_service_hour")
