"""Tickets, counters, calling and the lobby display: the office floor.

Named ``queueing`` because a top-level ``queue`` package would shadow the
standard library module that APScheduler and concurrent.futures import.
The floor builds on ``booking``; booking never imports it, and tells it what
happened through the signals in ``booking.signals``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Bind the floor to the app: login, pages, the event broker, commands, listeners."""
    from okienko.database import db

    from . import counter, display, kiosk, listeners, signin, status, walk_ins
    from .access import login_manager
    from .api import bp as queue_api
    from .cli import register_cli
    from .events import Broker, RedisBroker, attach
    from .public import bp as public_queue

    login_manager.init_app(app)
    if app.config.get("REDIS_URL"):
        # Installations sharing a Redis keep their floors apart by their key prefix.
        channel = f"{app.config['RATELIMIT_KEY_PREFIX']}:queue-events"
        broker: Broker = RedisBroker(app.config["REDIS_URL"], channel)
    else:
        broker = Broker()
    app.extensions["queue_broker"] = broker
    with app.app_context():
        attach(db.engine, broker)
    for blueprint in (kiosk.bp, status.status_bp, counter.bp, display.bp, signin.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(walk_ins.bp)  # /counter/walk-ins: the kiosk's capacity switch
    app.register_blueprint(public_queue)  # /o/<slug>/queue: the counters' public state
    app.register_blueprint(queue_api)  # /api/v1/offices/<slug>/queue: the same, for portals
    register_cli(app)
    listeners.connect()
