"""reports: the waits of tickets called in person, the service times of tickets done, and
the tickets recalled, transferred or parked, each in a narrow partial index

Revision ID: c6f7a8b9c0d1
Revises: b5e6f7a8b9c0
Create Date: 2026-11-30 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c6f7a8b9c0d1"
down_revision = "b5e6f7a8b9c0"
branch_labels = None
depends_on = None

# As queueing/models.py has them (WAITED, HANDLED, HAS_ACTS), written out: a migration
# keeps the schema of its own day.
INDEXES = {
    "ix_ticket_waited": (
        "first_called_at IS NOT NULL AND kind <> 'phone'",
        ["first_service_id", "issued_hour", "wait_seconds", "late_seconds"],
    ),
    "ix_ticket_handled": (
        "status = 'done' AND service_seconds IS NOT NULL",
        ["service_id", "counter_id", "served_by_id", "service_seconds"],
    ),
    "ix_ticket_acted": ("recalls > 0 OR transfers > 0 OR parks > 0", ["id", "service_id"]),
}


def upgrade():
    for name, (where, include) in INDEXES.items():
        op.create_index(
            name,
            "ticket",
            ["office_id", "day"],
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
            postgresql_include=include,
        )


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="ticket")
