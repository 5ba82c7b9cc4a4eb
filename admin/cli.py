"""`flask admin create`: the first administrator, before anyone can sign in to /admin/."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from booking.cli import find_office
from okienko.database import utcnow
from okienko.transaction import unit_of_work
from queueing.access import hash_password
from queueing.models import Role, StaffUser

from .audit import record
from .passwords import password_problem

admin_cli = AppGroup("admin", help="Administrator accounts.")


@admin_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="The administrator's full name.")
@click.option("--office", "slug", required=True, help="Slug of the office they belong to.")
@click.password_option()
def create_admin(username: str, name: str, slug: str, password: str) -> None:
    """Create an administrator (every office, and the accounts).

    The second factor is set up at the first sign-in, at /login.
    """
    with force_locale("en"):  # the command's other messages are English too
        problem = password_problem(password, username, name)
        if problem:
            raise click.ClickException(str(problem))
    with unit_of_work() as session:
        if session.scalar(select(StaffUser).where(StaffUser.username == username)):
            raise click.ClickException(f"{username!r} exists already")
        user = StaffUser(
            username=username,
            name=name,
            office_id=find_office(slug).id,
            role=Role.ADMINISTRATOR,
            active=True,
            password_hash=hash_password(password),
            password_changed_at=utcnow(),
        )
        session.add(user)
        session.flush()
        record(
            session,
            utcnow(),
            None,
            "create",
            "account",
            user.id,
            actor_name="flask admin",
            after={"username": username, "name": name, "role": Role.ADMINISTRATOR},
        )
    click.echo(f"{username}: administrator; sign in at /login and set up the second factor")


def register_cli(app: Flask) -> None:
    app.cli.add_command(admin_cli)
