"""Reads run side by side on SQLite: a page or an API answer waits for no writer.

A request by GET, HEAD or OPTIONS begins a deferred transaction, which under WAL reads
beside an open write transaction. A POST, and all work outside a request, begins
IMMEDIATE and waits its turn, so its writes never meet a snapshot another writer has
changed since its first read (SQLITE_BUSY_SNAPSHOT, a 500). A GET view that writes
says so with ``writes``; an undeclared write in a reading transaction fails at once.

A writer holds the database here: a transaction that inserted a row and has not
committed (on SQLite it holds the write lock). Requests run in threads of their own
through the test client; waits are bounded generously and never timed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, event, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from booking.models import Booking, Office
from okienko.database import db, reading, utcnow, writes
from okienko.transaction import unit_of_work
from queueing.models import AuditEntry
from tests.helpers.api import availability
from tests.helpers.factories import MakeOffice, MakeService
from tests.helpers.floor import KOSZALIN
from tests.helpers.logs import Records
from tests.helpers.waiting import TIMEOUT, wait_until

CALENDAR = f"/o/{KOSZALIN}/raty"
AVAILABILITY = f"/api/v1/offices/{KOSZALIN}/services/raty/availability"


class InThread:
    """``call()`` run in a thread of its own; ``result()`` waits for it to end."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.value = call()
        except BaseException as exc:  # handed to the test by result()
            self.error = exc
        finally:
            self.done.set()

    def result(self) -> Any:
        assert self.done.wait(TIMEOUT), "the request did not end"
        if self.error is not None:
            raise self.error
        return self.value


def get(app: Flask, path: str, method: str = "GET") -> Any:
    return app.test_client().open(path, method=method, headers={"Accept-Language": "en"})


@contextmanager
def writer(app: Flask) -> Iterator[Connection]:
    """A transaction that inserted a row and has not committed: it holds SQLite's write
    lock until the test commits it (``.commit()``) or leaves the block (rolled back)."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:  # outside a request: it begins IMMEDIATE
        office_id = connection.scalar(select(Office.id).where(Office.slug == KOSZALIN))
        connection.execute(
            insert(AuditEntry).values(office_id=office_id, action="held", at=utcnow(), detail={})
        )
        yield connection


@contextmanager
def lock_requests(app: Flask) -> Iterator[set[int]]:
    """The threads (other than this one) that asked for the write lock: by BEGIN
    IMMEDIATE, or, where a transaction began deferred, by its first write."""
    with app.app_context():
        engine = db.engine
    asked: set[int] = set()
    here = threading.get_ident()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.lstrip().upper()
        if threading.get_ident() != here and words.startswith(
            ("BEGIN IMMEDIATE", "INSERT", "UPDATE", "DELETE")
        ):
            asked.add(threading.get_ident())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield asked
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def touch() -> str:
    """A GET view that reads, then writes, and does not say so."""
    with unit_of_work() as session:
        session.add(AuditEntry(office_id=office_id(session), action="probe", at=utcnow()))
    return "touched"


def checked(view: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator as the floor's access checks are: the view, wrapped by functools.wraps."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return wrapper


@checked
@writes
def declared_touch() -> str:
    """The same, marked ``writes`` (under another decorator: the mark goes through)."""
    return touch()


def add_probes(app: Flask) -> None:
    app.add_url_rule("/test/touch", view_func=declared_touch)
    app.add_url_rule("/test/touch-undeclared", view_func=touch)


def probes(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "probe")
        )


def test_pages_and_the_api_answer_while_a_writer_holds_the_database(
    any_app: Flask, clock: Any
) -> None:
    with writer(any_app):
        requests = [
            InThread(lambda: get(any_app, CALENDAR)),
            InThread(lambda: get(any_app, AVAILABILITY)),
            InThread(lambda: get(any_app, AVAILABILITY, method="HEAD")),
            InThread(lambda: get(any_app, "/api/v1/offices")),
        ]
        # Answered while the writer still holds: on SQLite they waited for it before.
        responses = [request.result() for request in requests]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert any(day["starts"] for day in responses[1].get_json()["days"])


def test_bookings_racing_behind_a_writer_for_one_last_slot_give_one_booking(
    any_app: Flask, clock: Any, make_office: MakeOffice, make_service: MakeService
) -> None:
    """Both POSTs wait for the writer, then for each other: one 201, one 409, no 500.

    Begun deferred, each would read before the writer commits and fail on its first
    write, its snapshot out of date.
    """
    office = make_office("one-counter", counters=["Only"])
    service = make_service(office, "visit", name={"en": "Visit"})
    days = availability(any_app.test_client(), office.slug, service.key).get_json()["days"]
    start = next(day["starts"][0] for day in days if day["starts"])

    def book(i: int) -> Any:
        return any_app.test_client().post(
            "/api/v1/bookings",
            json={
                "office": office.slug,
                "service": service.key,
                "start": start,
                "name": f"Resident {i}",
                "email": f"resident{i}@example.com",
                "consent": True,
            },
        )

    with writer(any_app) as held, lock_requests(any_app) as asked:
        posts = [InThread(lambda i=i: book(i)) for i in range(2)]
        wait_until(
            lambda: all(p.done.is_set() or p.thread.ident in asked for p in posts),
            message="the bookings did not ask for the write lock",
        )
        held.commit()
        statuses = sorted(p.result().status_code for p in posts)
    assert statuses == [201, 409]
    with any_app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_a_get_marked_writes_writes_behind_a_writer(any_app: Flask) -> None:
    add_probes(any_app)
    with writer(any_app) as held, lock_requests(any_app) as asked:
        touch = InThread(lambda: get(any_app, "/test/touch"))
        wait_until(
            lambda: touch.done.is_set() or touch.thread.ident in asked,
            message="the GET did not ask for the write lock",
        )
        held.commit()
        response = touch.result()
    assert response.status_code == 200 and response.text == "touched"
    assert probes(any_app) == 1


def test_an_undeclared_write_in_a_get_fails_every_time(app: Flask) -> None:
    """Not only when another writer got in between: so a test finds it."""
    add_probes(app)
    with Records() as records:
        assert get(app, "/test/touch-undeclared").status_code == 500
    errors = [str(r.exc_info[1]) for r in records if r.exc_info]
    assert any("attempt to write a readonly database" in error for error in errors)
    assert probes(app) == 0


def test_a_request_leaves_its_thread_writing(app: Flask) -> None:
    """A worker thread's next request, or work after a response, starts from the default."""
    add_probes(app)
    client = app.test_client()
    assert client.get(AVAILABILITY).status_code == 200  # in this thread
    assert client.get("/no/such/page").status_code == 404
    with app.app_context(), unit_of_work() as session:
        session.add(AuditEntry(office_id=office_id(session), action="probe", at=utcnow()))
    assert client.get("/test/touch").status_code == 200
    assert probes(app) == 2
    assert client.get("/test/touch-undeclared").status_code == 500  # the next GET reads
    assert probes(app) == 2


def test_reads_outside_a_request_run_beside_a_writer_in_reading(any_app: Flask) -> None:
    """As a display's stream reads, after its response has begun."""
    with any_app.app_context():
        engine = db.engine

    def read() -> str | None:
        with reading(), Session(engine) as session:
            return session.scalar(select(Office.name).where(Office.slug == KOSZALIN))

    with writer(any_app):
        assert InThread(read).result()


def test_a_write_inside_reading_is_refused(app: Flask) -> None:
    with (
        app.app_context(),
        reading(),
        pytest.raises(OperationalError, match="readonly"),
        unit_of_work() as session,
    ):
        session.add(AuditEntry(office_id=office_id(session), action="probe", at=utcnow()))
    with app.app_context(), unit_of_work() as session:  # and after the block, writing again
        session.add(AuditEntry(office_id=office_id(session), action="probe", at=utcnow()))
    assert probes(app) == 1


def office_id(session: Session) -> int:
    found = session.scalar(select(Office.id).where(Office.slug == KOSZALIN))
    assert found is not None
    return found
