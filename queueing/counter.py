"""Counter pages: a clerk logs in, takes a seat at a counter and works the line.

Every action is a POST with a CSRF token. Sent with ``Accept: application/json``
(and the token in an X-CSRFToken header) it answers JSON: the counter's HTTP API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking import admission, notifications
from booking.availability import local_today
from booking.models import Booking, BookingStatus, Counter, Service
from booking.refusals import Refusal
from okienko import outbox
from okienko.database import db, utcnow
from okienko.models import QueuedMail
from okienko.transaction import unit_of_work

from . import calling, events
from .access import login_manager, row_id, staff_required
from .display import event_stream
from .kiosk import floor_message
from .models import StaffUser, Ticket, TicketStatus
from .priority import eligible
from .refusals import CounterBusy
from .staff import keep_seat
from .state import as_waiting, call_payload, line

bp = Blueprint("counter", __name__, url_prefix="/counter")


class ActionForm(FlaskForm):
    """Only the CSRF token."""


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def staff() -> StaffUser:
    return current_user  # flask_login is untyped: current_user is the signed-in StaffUser


@bp.post("/logout")
@staff_required
def logout() -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    if leaving_ticket_behind():
        return respond(CounterBusy.message, 409)
    with unit_of_work() as session:
        staff().counter_id = None
        # One counter fewer open: the estimates and the manager's live report follow.
        events.record(session, staff().office_id, "update", {})
    logout_user()
    return redirect(url_for(login_manager.login_view))


@bp.get("/")
@staff_required
def home() -> Any:
    user = staff()
    office = user.office
    now = utcnow()
    counter = user.counter
    current = calling.current_ticket(db.session(), counter) if counter else None
    waiting = line(db.session(), office, now)
    if counter is not None:  # only what this counter serves, and what was sent to it
        services = {s.id for s in counter.services}
        waiting = [t for t in waiting if eligible(as_waiting(t), counter.id, services)]
    parked = db.session.scalars(
        select(Ticket).where(
            Ticket.office_id == office.id,
            Ticket.status == TicketStatus.PARKED,
            Ticket.day == local_today(office, now),
        )
    ).all()
    return render_template(
        "queueing/counter.html",
        user=user,
        office=office,
        counter=counter,
        current=current,
        waiting=waiting,
        parked=parked,
        phone_calls=calling.phone_calls(db.session(), user, now),
        failed_mails=outbox.failed(db.session(), office.id, now - timedelta(days=14)),
        regime=admission.regime_active(office, local_today(office, now)),
        reasons=admission.COUNTER_REASONS,
        counters=[c for c in office.counters if c.retired_at is None],  # retired: no seat
        services=office.services,
        form=ActionForm(),
        now=now,
        long_wait=timedelta(minutes=current_app.config["LONG_WAIT_MINUTES"]),
        keep_seconds=heartbeat_seconds(),
        waited=waited,
        waiting_since=waiting_since,
        long_wait_from=long_wait_from,
        minutes=minutes,
        stopwatch=stopwatch,
    )


def heartbeat_seconds() -> int:
    """How often the open page renews the seat: several times within a lease."""
    return max(5, min(60, current_app.config["SEAT_LEASE_MINUTES"] * 60 // 4))


def waited(ticket: Ticket, now: datetime) -> timedelta:
    """From the ticket's issue to its first call (so far, if not called yet)."""
    return (ticket.first_called_at or now) - ticket.issued_at


def waiting_since(ticket: Ticket) -> datetime:
    """Whence the line counts a ticket's wait: its arrival, or the booked time of an
    appointment checked in early (its wait before that was its own choice)."""
    return max(ticket.issued_at, ticket.queued_at)


def long_wait_from(ticket: Ticket, long_wait: timedelta) -> datetime:
    """When a wait in line becomes long: ``long_wait`` after ``waiting_since``."""
    return waiting_since(ticket) + long_wait


def minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def stopwatch(delta: timedelta) -> str:
    """A running time as the counter's timer shows it: 4:05, 1:02:09."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@bp.get("/line.json")
@staff_required
def line_json() -> Any:
    user = staff()
    tickets = line(db.session(), user.office, utcnow())
    current = calling.current_ticket(db.session(), user.counter) if user.counter else None
    return jsonify(
        {
            "current": call_payload(current) | {"status": current.status.value}
            if current
            else None,
            "waiting": [
                {
                    "id": t.id,
                    "ticket": t.label,
                    "service": t.service.name(user.office.language),
                    "kind": t.kind.value,
                    "urgent": t.urgent,
                    "status": t.status.value,
                }
                for t in tickets
            ],
        }
    )


@bp.post("/seat")
@staff_required
def seat() -> Any:
    user = staff()
    if not ActionForm().validate_on_submit():
        abort(400)
    raw = request.form.get("counter_id", "")
    counter = db.session.get(Counter, row_id(raw)) if row_id(raw) else None
    if counter is None or counter.office_id != user.office_id:
        abort(400)
    if counter.retired_at is not None:  # removed by a manager while the page was open
        return respond(_l("This counter was removed. Choose another."), 409)
    if counter.id != user.counter_id and leaving_ticket_behind():
        return respond(CounterBusy.message, 409)
    try:
        with unit_of_work() as session:
            user.counter_id = counter.id
            user.seat_seen_at = utcnow()  # the seat's lease starts; the page renews it
            events.record(session, user.office_id, "update", {})  # counters open changed
    except IntegrityError:
        return respond(_l("Another clerk is signed in at this counter."), 409)
    return redirect(url_for(".home"))


@bp.post("/seat/keep")
@staff_required
def keep() -> Any:
    """The open page's heartbeat: the clerk is still at the counter. ``seated`` false
    once the seat was freed (the lease ran out while the page was asleep)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work() as session:
        seated = keep_seat(session, staff(), utcnow())
    return jsonify({"seated": seated})


def leaving_ticket_behind() -> bool:
    """True if the clerk's counter still holds a called or served ticket."""
    counter = staff().counter
    return counter is not None and calling.current_ticket(db.session(), counter) is not None


def respond(message: object, status: int, ticket: Ticket | None = None) -> Any:
    if wants_json():
        body: dict[str, Any] = {"message": str(message)}
        if ticket is not None:
            body["ticket"] = call_payload(ticket) | {"status": ticket.status.value}
        return jsonify(body), status
    flash(str(message), "error" if status >= 400 else "success")
    return redirect(url_for(".home"))


def run(
    action: Any,
    target: Any,
    after: Callable[[Session, Ticket, datetime], None] | None = None,
    **kwargs: Any,
) -> Any:
    """Do a clerk's action on ``target`` (a ticket, or a phone booking) and answer it;
    ``after`` adds to the same unit of work what follows from a done action."""
    user = staff()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work() as session:
            now = utcnow()
            args = (target,) if target is not None else ()
            result = action(session, user, *args, now, **kwargs)
            if result is not None and after is not None:
                after(session, result, now)
    except Refusal as exc:
        if wants_json():
            return jsonify(
                {"error": exc.error, "message": floor_message(exc, user.office)}
            ), exc.status
        return respond(floor_message(exc, user.office), exc.status)
    if result is None:
        return respond(_l("Nobody is waiting for this counter."), 200)
    done = DONE_MESSAGES.get(action.__name__, _l("Saved."))
    return respond(str(done) % {"ticket": result.label}, 200, result)


DONE_MESSAGES = {
    "call_next": _l("%(ticket)s called."),
    "call_ticket": _l("%(ticket)s called."),
    "recall": _l("%(ticket)s called again."),
    "start_serving": _l("Serving %(ticket)s."),
    "finish": _l("%(ticket)s finished."),
    "no_show": _l("%(ticket)s marked as not present."),
    "park": _l("%(ticket)s parked."),
    "transfer": _l("%(ticket)s transferred."),
    "set_urgent": _l("%(ticket)s marked as urgent."),
    "refuse": _l("%(ticket)s refused entry; the reason is logged."),
    "phone_call": _l("%(ticket)s: phone consultation started."),
}


def get_ticket(ticket_id: int) -> Ticket:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.office_id != staff().office_id:
        abort(404)
    return ticket


@bp.post("/call-next")
@staff_required
def call_next() -> Any:
    return run(calling.call_next, None)


ACTIONS = {
    "call": calling.call_ticket,
    "recall": calling.recall,
    "serve": calling.start_serving,
    "finish": calling.finish,
    "no-show": calling.no_show,
    "park": calling.park,
    "urgent": calling.set_urgent,
}


@bp.post("/tickets/<int(max=2147483647):ticket_id>/<action>")
@staff_required
def ticket_action(ticket_id: int, action: str) -> Any:
    if action not in ACTIONS:
        abort(404)
    return run(ACTIONS[action], get_ticket(ticket_id))


@bp.post("/tickets/<int(max=2147483647):ticket_id>/transfer")
@staff_required
def transfer(ticket_id: int) -> Any:
    user = staff()
    service = counter = None
    target = request.form.get("to", "")
    kind, _, raw = target.partition(":")
    if kind == "service" and row_id(raw):
        service = db.session.get(Service, row_id(raw))
    elif kind == "counter" and row_id(raw):
        counter = db.session.get(Counter, row_id(raw))
    destination = service or counter
    if destination is None or destination.office_id != user.office_id:
        abort(400)
    if counter is not None and counter.retired_at is not None:
        return respond(_l("This counter was removed. Choose another."), 409)
    return run(calling.transfer, get_ticket(ticket_id), service=service, counter=counter)


@bp.post("/tickets/<int(max=2147483647):ticket_id>/refuse")
@staff_required
def refuse(ticket_id: int) -> Any:
    """Refuse service under the sanitary regime, with one of the listed reasons."""
    reason = request.form.get("reason", "")
    if reason not in admission.COUNTER_REASONS:
        abort(400)
    ticket = get_ticket(ticket_id)
    booking = ticket.booking  # the refusal lets go of it; the resident is mailed after

    def mail(session: Session, _ticket: Ticket, now: datetime) -> None:
        if booking is not None and booking.status == BookingStatus.REFUSED:
            notifications.admission_refused(session, booking, now)

    return run(calling.refuse, ticket, after=mail, reason=reason)


@bp.post("/phone/<int(max=2147483647):booking_id>")
@staff_required
def phone_call(booking_id: int) -> Any:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.office_id != staff().office_id:
        abort(404)
    return run(calling.phone_call, booking)


@bp.post("/mail/<int(max=2147483647):mail_id>/retry")
@staff_required
def retry_mail(mail_id: int) -> Any:
    """Send an undelivered mail again, e.g. once the mail server is back."""
    if not ActionForm().validate_on_submit():
        abort(400)
    mail = db.session.get(QueuedMail, mail_id)
    if mail is None or mail.office_id != staff().office_id or mail.failed_at is None:
        abort(404)
    with unit_of_work() as session:
        outbox.retry(session, mail, utcnow())
    return respond(_l("The e-mail will be sent again."), 200)


@bp.get("/stream")
@staff_required
def stream() -> Any:
    """The clerk's live feed: the same floor events the lobby display gets."""
    return event_stream(staff().office_id)
