"""Offices and the sanitary regime from the command line: ``flask offices``, ``flask admission``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from okienko.database import db, utcnow
from okienko.transaction import unit_of_work

from . import admission
from .importer import OfficeConfigError, apply_admission, load_file
from .models import Office
from .offices import UnknownOffice, require_office
from .versions import touch

offices_cli = AppGroup("offices", help="Set up offices from configuration files.")
admission_cli = AppGroup("admission", help="The sanitary admission check.")


def import_file(path: Path) -> list[Office]:
    """Load offices from ``path`` and commit, or stop with the file's error."""
    try:
        with unit_of_work() as session:
            loaded = load_file(session, path)
    except OfficeConfigError as exc:
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


def find_office(slug: str) -> Office:
    """The office named on the command line, or a clear stop."""
    try:
        return require_office(db.session(), slug)
    except UnknownOffice as exc:
        raise click.ClickException(str(exc)) from None


@admission_cli.command("on")
@click.argument("slug")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
def admission_on(slug: str, first: object, last: object) -> None:
    """Switch the sanitary regime on for office SLUG, from and to a day if given."""
    with unit_of_work() as session:
        office = find_office(slug)
        touch(session, office.id)  # the API shows the regime with the office
        if office.admission is None:  # never configured: the default questions and notices
            apply_admission(office, {})
        assert office.admission is not None
        office.admission.enabled = True
        office.admission.first_day = first.date() if isinstance(first, datetime) else None
        office.admission.last_day = last.date() if isinstance(last, datetime) else None
    click.echo(f"{slug}: sanitary regime on, {len(office.questions)} questions")


@admission_cli.command("off")
@click.argument("slug")
def admission_off(slug: str) -> None:
    """Switch the sanitary regime off for office SLUG."""
    with unit_of_work() as session:
        office = find_office(slug)
        if office.admission is not None:
            office.admission.enabled = False
            touch(session, office.id)
    click.echo(f"{slug}: sanitary regime off")


@admission_cli.command("purge")
@click.option("--days", type=int, help="Keep this many days (default ADMISSION_RETENTION_DAYS).")
def admission_purge(days: int | None) -> None:
    """Delete admission outcomes older than the retention period."""
    keep = days if days is not None else current_app.config["ADMISSION_RETENTION_DAYS"]
    with unit_of_work() as session:
        removed = admission.purge(session, utcnow(), timedelta(days=keep))
    click.echo(f"{removed} admission outcomes deleted (older than {keep} days)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(offices_cli)
    app.cli.add_command(admission_cli)
