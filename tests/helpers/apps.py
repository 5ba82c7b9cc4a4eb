"""Apps for tests: their configuration, a migrated database with the demo offices, and an app
on a fresh copy of it (SQLite, or PostgreSQL from a template database)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from booking.importer import DEMO_FILE, load_file
from okienko.app import create_app
from okienko.database import db
from tests.helpers.postgres import drop_pg_database, new_pg_database, pg_url


def base_config(instance: Path, database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-" + "x" * 40,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        "MAIL_OUTBOX": str(instance / "outbox"),
        "PUBLIC_URL": "http://testserver",
    }


def migrate_and_load(config: dict[str, Any]) -> None:
    from flask_migrate import upgrade

    app = create_app(config)
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        db.session.commit()
        db.engine.dispose()


def make_app(request: pytest.FixtureRequest, tmp_path: Path, backend: str, **config: Any) -> Flask:
    """An app on a fresh copy of the migrated demo database for ``backend``."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        name = new_pg_database(request.getfixturevalue("pg_template"))
        request.addfinalizer(lambda: drop_pg_database(name))
        url = pg_url(name)
    app = create_app({**base_config(tmp_path, url), **config})

    def _dispose() -> None:
        with app.app_context():
            db.engine.dispose()

    request.addfinalizer(_dispose)
    return app
