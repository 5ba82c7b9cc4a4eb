"""Who may open which /admin/ page: every route of the administration, found in the app's
URL map, is tried as anonymous, kiosk, display, clerk, the manager of another office, the
office's manager and an administrator; and with another office's record id, which must be
refused even to a manager who may see the URL's office. A new route is covered without
changes here, unless its URL takes a kind of id the table below does not know yet.

CSRF is switched off for the matrix, so that what a POST meets first is the role check; a
separate test proves every form of the administration refuses a post without its token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from booking.models import (
    AdmissionQuestion,
    Closure,
    Counter,
    Department,
    OpeningHours,
    Service,
)
from okienko.database import Model, db
from queueing.access import new_device
from queueing.models import DeviceKind, Role, StaffUser
from tests.helpers.admin import PLZEN, ZIELNA, make_account, office, session_of
from tests.helpers.apps import make_app

# Routes anyone may open: a one-time link carries its own secret.
PUBLIC = {"admin.reset_password"}
# Pages of the signed-in person themselves, open to every role that may sign in.
OWN = {"admin.account", "admin.second_factor", "admin.password"}


def _closure(office_id: int) -> int:
    row = Closure(office_id=office_id, first_day=date(2030, 1, 2), last_day=date(2030, 1, 2))
    db.session.add(row)
    db.session.flush()
    return row.id


def _device(office_id: int) -> int:
    # A lobby display: every device route takes one, and what it shows only a display has.
    device, _token = new_device(office_id, DeviceKind.DISPLAY, "Matrix display")
    db.session.flush()
    return device.id


def _first(model: type[Model]) -> Callable[[int], int]:
    def find(office_id: int) -> int:
        found = db.session.scalar(
            select(model.id).where(model.office_id == office_id).order_by(model.id)  # type: ignore[attr-defined]
        )
        assert found is not None, f"no {model.__name__} in office {office_id}"
        return found

    return find


def _question(office_id: int) -> int:
    found = db.session.scalar(
        select(AdmissionQuestion.id).where(AdmissionQuestion.office_id == office_id)
    )
    if found is None:
        row = AdmissionQuestion(office_id=office_id, key="matrix", texts={"en": "Fever?"})
        db.session.add(row)
        db.session.flush()
        found = row.id
    return found


def _department(office_id: int) -> int:
    found = db.session.scalar(select(Department.id).where(Department.office_id == office_id))
    if found is None:
        row = Department(office_id=office_id, key="matrix", names={"en": "Matrix"})
        db.session.add(row)
        db.session.flush()
        found = row.id
    return found


# A record of the named kind in the given office, by the URL variable's name.
RECORDS: dict[str, Callable[[int], int]] = {
    "service_id": _first(Service),
    "counter_id": _first(Counter),
    "hours_id": _first(OpeningHours),
    "closure_id": _closure,
    "device_id": _device,
    "question_id": _question,
    "department_id": _department,
    "user_id": _first(StaffUser),
}


def admin_rules(app: Flask) -> list[Rule]:
    """The administration's routes, and the reports' (their pages, downloads and live
    figures are behind the same roles)."""
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint.startswith(("admin.", "reports."))),
        key=lambda r: r.rule,
    )


def required_role(app: Flask, rule: Rule) -> Role | None:
    return getattr(app.view_functions[rule.endpoint], "admin_role", None)


@pytest.fixture
def matrix_app(request: pytest.FixtureRequest, tmp_path: Any) -> Flask:
    return make_app(request, tmp_path, "sqlite", WTF_CSRF_ENABLED=False)


class World:
    """The accounts and devices of the matrix, and a record of each kind in both offices."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.clerk = make_account(app, "matrix-clerk", Role.CLERK)
        self.other_manager = make_account(
            app, "other-manager", Role.MANAGER, home=PLZEN, manages=[PLZEN]
        )
        self.manager = make_account(app, "own-manager", Role.MANAGER, manages=[ZIELNA])
        self.administrator = make_account(app, "matrix-admin", Role.ADMINISTRATOR)
        make_account(app, "plzen-clerk", Role.CLERK, home=PLZEN)
        with app.app_context():
            self.ids = {
                slug: {name: make(office(slug).id) for name, make in RECORDS.items()}
                for slug in (ZIELNA, PLZEN)
            }
            _kiosk_device, self.kiosk_token = new_device(office(ZIELNA).id, DeviceKind.KIOSK, "K")
            _display_device, self.display_token = new_device(
                office(ZIELNA).id, DeviceKind.DISPLAY, "D"
            )
            db.session.commit()

    def url(self, rule: Rule, slug: str, ids_from: str) -> str:
        values: dict[str, Any] = {}
        for name in rule.arguments:
            if name == "slug":
                values[name] = slug
            elif name in RECORDS:
                values[name] = self.ids[ids_from][name]
            elif name == "token":  # a one-time link's secret: a made-up one opens nothing
                values[name] = "not-a-reset-link"
            elif name == "name":  # a report's
                values[name] = "visitors"
            elif name == "extension":  # a report's download
                values[name] = "csv"
            else:
                pytest.fail(f"{rule.rule}: the matrix knows no record for <{name}>; add it")
        with self.app.test_request_context():
            from flask import url_for

            return url_for(rule.endpoint, **values)

    def device(self, token: str) -> FlaskClient:
        client = self.app.test_client()
        assert client.get(f"/device/{token}").status_code == 302
        return client

    def clients(self) -> dict[str, FlaskClient]:
        return {
            "anonymous": self.app.test_client(),
            "kiosk": self.device(self.kiosk_token),
            "display": self.device(self.display_token),
            "clerk": session_of(self.app, self.clerk),
            "other manager": session_of(self.app, self.other_manager),
            "manager": session_of(self.app, self.manager),
            "administrator": session_of(self.app, self.administrator),
        }


def requests(rule: Rule) -> Iterator[str]:
    yield from sorted(m for m in rule.methods or () if m in {"GET", "POST"})


def call(client: FlaskClient, method: str, url: str) -> Any:
    return client.get(url) if method == "GET" else client.post(url, data={})


ALLOWED = {  # who may open a page that needs the role in the key
    Role.MANAGER: {"other manager", "manager", "administrator"},
    Role.ADMINISTRATOR: {"administrator"},
}


def expected(app: Flask, rule: Rule, who: str, *, office_url: bool) -> set[int] | str:
    """What ``who`` gets: 'allowed' (any answer but a refusal), or the refusal's codes."""
    if rule.endpoint in PUBLIC:
        return "allowed"
    if who == "anonymous":
        return {302}
    if who in {"kiosk", "display"}:
        return {403}
    role = required_role(app, rule)
    assert role is not None, f"{rule.endpoint} is not wrapped by admin_required"
    if rule.endpoint in OWN:  # every signed-in person's own pages
        return "allowed"
    if who not in ALLOWED[role]:
        return {403}
    if office_url and who == "other manager":
        return {403}
    return "allowed"


def test_every_admin_route_checks_the_role_and_the_office(matrix_app: Flask) -> None:
    world = World(matrix_app)
    clients = world.clients()
    rules = admin_rules(matrix_app)
    assert len(rules) >= 4
    checked = 0
    for rule in rules:
        office_url = "slug" in rule.arguments
        for method in requests(rule):
            url = world.url(rule, ZIELNA, ZIELNA)
            for who, client in clients.items():
                want = expected(matrix_app, rule, who, office_url=office_url)
                got = call(client, method, url)
                where = f"{method} {url} as {who}: {got.status_code}"
                if want == "allowed":
                    assert got.status_code not in {401, 403, 404} and got.status_code < 500, where
                else:
                    assert got.status_code in want, where
                    if got.status_code == 302:
                        assert "/login" in got.headers["Location"], where
                checked += 1
    assert checked >= len(rules) * 7


def test_another_offices_record_is_refused_by_id(matrix_app: Flask) -> None:
    """The manager's own office in the URL, another office's record id: 404, never the record."""
    world = World(matrix_app)
    manager = session_of(matrix_app, world.manager)
    administrator = session_of(matrix_app, world.administrator)
    mixed = [
        r
        for r in admin_rules(matrix_app)
        if "slug" in r.arguments and set(r.arguments) & set(RECORDS)
    ]
    for rule in mixed:
        url = world.url(rule, ZIELNA, PLZEN)
        for method in requests(rule):
            for who, client in (("manager", manager), ("administrator", administrator)):
                got = call(client, method, url)
                assert got.status_code == 404, f"{method} {url} as {who}: {got.status_code}"


def test_every_admin_form_needs_its_csrf_token(app: Flask) -> None:
    administrator = make_account(app, "csrf-admin", Role.ADMINISTRATOR)
    client = session_of(app, administrator)
    world_ids = {}
    with app.app_context():
        world_ids = {name: make(office(ZIELNA).id) for name, make in RECORDS.items()}
        db.session.commit()
    posts = [r for r in admin_rules(app) if "POST" in (r.methods or ())]
    assert posts, "the administration has forms"
    for rule in posts:
        values = {n: (ZIELNA if n == "slug" else world_ids.get(n, "x")) for n in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        got = client.post(url, data={}, headers={"Accept-Language": "en"})
        assert got.status_code == 400, f"POST {url} without a token: {got.status_code}"
        assert "Your session has expired" in got.get_data(as_text=True), url
