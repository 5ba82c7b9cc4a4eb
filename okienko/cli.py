"""The core's commands: ``flask doctor`` and ``flask scheduler``; features add their own."""

from __future__ import annotations

import click
from flask import Flask, current_app

from . import scheduler
from .doctor import doctor_command


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduled jobs (mail, reminders, no-shows, day close, retention) until stopped."""
    scheduler.run_forever(current_app._get_current_object())  # type: ignore[attr-defined]


def register_cli(app: Flask) -> None:
    app.cli.add_command(doctor_command)
    app.cli.add_command(scheduler_command)
