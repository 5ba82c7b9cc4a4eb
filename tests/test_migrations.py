"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData

from booking.database import db


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
