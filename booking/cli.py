"""Command-line tasks: ``flask offices import FILE`` (``flask demo`` is in queueing.cli)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .database import db
from .importer import OfficeConfigError, load_file
from .models import Office

offices_cli = AppGroup("offices", help="Set up offices from configuration files.")


def import_file(path: Path) -> list[Office]:
    """Load offices from ``path`` and commit, or stop with the file's error."""
    try:
        loaded = load_file(db.session, path)
        db.session.commit()
    except OfficeConfigError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    for office in loaded:
        click.echo(
            f"{office.slug}: {len(office.services)} services, {len(office.counters)} counters"
        )
    return loaded


@offices_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Create or update the offices described in FILE (TOML)."""
    import_file(file)


def register_cli(app: Flask) -> None:
    app.cli.add_command(offices_cli)
