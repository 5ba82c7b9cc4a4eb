"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData, text

from okienko.database import db
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService, MakeTicket
from tests.helpers.forms import local_start


def schema_diff(app: Flask, metadata: MetaData | None = None) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata if metadata is not None else db.metadata)


def test_models_and_migrations_agree(any_app: Flask) -> None:
    assert schema_diff(any_app) == []


def test_migrations_go_down_and_up_again(any_app: Flask) -> None:
    with any_app.app_context():
        downgrade(revision="base")
        assert db.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
    assert schema_diff(any_app) == []


def test_a_model_change_without_migration_is_noticed(app: Flask) -> None:
    """The check above can fail: a column added to the models only shows up as a difference."""
    metadata = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["office"].append_column(Column("not_migrated", Integer))
    assert any("not_migrated" in str(change) for change in schema_diff(app, metadata))


def test_migrating_down_and_up_keeps_bookings_cells_and_tickets(
    any_app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
    make_ticket: MakeTicket,
) -> None:
    """On SQLite batch mode rebuilds tables; with foreign keys enforced that would delete
    the rows pointing at them (a booking's cells) or fail. Nothing is lost either way."""
    office = make_office(slot_minutes=30)
    service = make_service(office, duration=30)  # one cell of the grid
    with time_machine.travel(datetime(2026, 11, 20, 9, tzinfo=UTC), tick=False):
        make_booking(service, local_start("2026-11-25", "10:00", "Europe/Warsaw"))
    with time_machine.travel(datetime(2026, 11, 25, 9, tzinfo=UTC), tick=False):
        make_ticket(office, service)
    tables = ("booking", "booking_slot", "ticket", "counter_service", "service", "office")

    def counts() -> dict[str, int]:
        with any_app.app_context():
            return {
                t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in tables
            }

    before = counts()
    assert before["booking_slot"] == 1 and before["ticket"] == 1
    with any_app.app_context():
        downgrade(revision="20c66c67a9ee")
    assert counts() == before
    with any_app.app_context():
        upgrade()
    assert counts() == before
    assert schema_diff(any_app) == []
