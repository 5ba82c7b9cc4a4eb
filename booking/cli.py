"""Command-line tasks: ``flask offices import FILE`` and ``flask demo``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .database import db
from .importer import DEMO_FILE, OfficeConfigError, load_file

offices_cli = AppGroup("offices", help="Set up offices from configuration files.")


def _import(path: Path) -> None:
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


@offices_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Create or update the offices described in FILE (TOML)."""
    _import(file)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo offices from the source texts and print where to look."""
    _import(DEMO_FILE)
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    click.echo("")
    click.echo(f"Booking pages:   {base}/")
    click.echo(f"  Plzeň:         {base}/o/plzen-kontaktni-misto?lang=cs")
    click.echo(f"  Bytom:         {base}/o/bytom-zielna?lang=pl")
    click.echo(f"  Koszalin:      {base}/o/koszalin-zbm?lang=pl")
    click.echo(f"API:             {base}/api/v1/openapi.json")
    outbox = current_app.config["MAIL_OUTBOX"] if not current_app.config["MAIL_SERVER"] else None
    if outbox:
        click.echo(f"Mail outbox:     {outbox} (one .eml file per message)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(offices_cli)
    app.cli.add_command(demo_command)
