"""Command-line tasks for the floor: staff accounts and kiosk/display devices."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from booking.cli import find_office, import_file
from booking.importer import DEMO_FILE
from booking.models import Office
from okienko.database import db, utcnow
from okienko.tokens import hash_token, new_token
from okienko.transaction import unit_of_work

from .access import new_device
from .models import Device, DeviceKind, StaffUser
from .signals import demo_loaded
from .staff import release_counter, upsert_staff

staff_cli = AppGroup("staff", help="Staff accounts.")
devices_cli = AppGroup("devices", help="Kiosks and lobby displays.")


@staff_cli.command("create")
@click.argument("username")
@click.option("--office", "slug", required=True, help="Slug of the office the clerk works at.")
@click.option("--name", required=True, help="The clerk's full name.")
@click.password_option()
def create_staff(username: str, slug: str, name: str, password: str) -> None:
    """Create a clerk account (or reset its password)."""
    with unit_of_work():
        upsert_staff(find_office(slug), username, name, password)
    click.echo(f"{username}: can log in at /login")


def find_staff(username: str) -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise click.ClickException(f"no clerk {username!r}")
    return user


@staff_cli.command("release")
@click.argument("username")
def release_staff(username: str) -> None:
    """Free the counter of a clerk who left without logging out (a held ticket is parked)."""
    with unit_of_work() as session:
        parked = release_counter(session, find_staff(username), utcnow())
    click.echo(f"{username}: counter freed" + (f"; {parked} parked" if parked else ""))


@staff_cli.command("disable")
@click.argument("username")
def disable_staff(username: str) -> None:
    """Stop a clerk from logging in, and free their counter."""
    with unit_of_work() as session:
        user = find_staff(username)
        parked = release_counter(session, user, utcnow())
        user.active = False
    click.echo(f"{username}: disabled" + (f"; {parked} parked" if parked else ""))


def device_link(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/device/{token}"


def replace_device(office: Office, kind: DeviceKind, name: str) -> str:
    """A fresh sign-in link for the device called ``name`` (the old link stops working)."""
    old = db.session.scalar(
        select(Device).where(
            Device.office_id == office.id, Device.kind == kind, Device.name == name
        )
    )
    if old is None:
        _device, token = new_device(office.id, kind, name)
    else:
        token = new_token()
        old.token_hash = hash_token(token)
    return device_link(token)


@devices_cli.command("create")
@click.option("--office", "slug", required=True)
@click.option("--kind", type=click.Choice([k.value for k in DeviceKind]), required=True)
@click.option("--name", required=True)
def create_device(slug: str, kind: str, name: str) -> None:
    """Print the sign-in link of a kiosk or a lobby display; open it on that device.

    The link can be used again: every browser that opens it is signed in as the
    device, for as long as it keeps the session cookie, and the link itself does
    not expire. Keep it secret. Running this again for the same office, kind and
    name prints a new link: the old one stops working, and browsers signed in
    with it are signed out.
    """
    with unit_of_work():
        link = replace_device(find_office(slug), DeviceKind(kind), name)
    click.echo(link)


# Demo clerks: (office slug, user name, full name). Password "demo" for all.
DEMO_STAFF = [
    ("plzen-kontaktni-misto", "plzen1", "Jana Dvořáková"),
    ("plzen-kontaktni-misto", "plzen2", "Petr Svoboda"),
    ("bytom-zielna", "zielna1", "Anna Nowak"),
    ("bytom-zielna", "zielna2", "Piotr Wójcik"),
    ("bytom-zielna", "zielna3", "Katarzyna Lewandowska"),
    ("bytom-armii-krajowej", "ak1", "Tomasz Kamiński"),
    ("koszalin-zbm", "koszalin1", "Ewa Zielińska"),
    ("demo-always-open", "demo1", "Alex Demo"),
    ("demo-always-open", "demo2", "Sam Demo"),
]
# Below the password policy on purpose (admin/passwords.py): a demo to try out, not an office.
DEMO_PASSWORD = "demo"


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo offices, clerks and devices, and print where to look."""
    offices = import_file(DEMO_FILE)
    with unit_of_work() as session:
        for slug, username, name in DEMO_STAFF:
            upsert_staff(find_office(slug), username, name, DEMO_PASSWORD)
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        more = [line for _r, lines in demo_loaded.send(app, session=session) for line in lines]
        links = {
            office.slug: (
                replace_device(office, DeviceKind.KIOSK, "Kiosk 1"),
                replace_device(office, DeviceKind.DISPLAY, "Lobby display"),
            )
            for office in offices
        }
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    click.echo(f"\nBooking pages:  {base}/")
    for office in offices:
        kiosk, display = links[office.slug]
        clerks = ", ".join(u for s, u, _n in DEMO_STAFF if s == office.slug)
        click.echo(f"\n{office.name}")
        click.echo(f"  booking:  {base}/o/{office.slug}?lang={office.language}")
        click.echo(f"  kiosk:    {kiosk}")
        click.echo(f"  display:  {display}")
        click.echo(f"  counter:  {base}/counter/  (log in as {clerks}; password {DEMO_PASSWORD})")
    for line in more:
        click.echo(line)
    click.echo(f"\nAPI:            {base}/api/v1/openapi.json")
    if not current_app.config["MAIL_SERVER"]:
        click.echo(f"Mail outbox:    {current_app.config['MAIL_OUTBOX']} (one .eml per message)")
    click.echo("Device links sign a browser in as that kiosk or display; open each in its own")
    click.echo("browser profile (or a private window), apart from the clerk's.")
    if any(office.slug == "demo-always-open" for office in offices):
        click.echo("Outside office hours the floor can be tried at the demo office, open every")
        click.echo("day around the clock: take a ticket at its kiosk, call it at its counter.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(staff_cli)
    app.cli.add_command(devices_cli)
    app.cli.add_command(demo_command)
