"""Offices, services, opening hours, slots and bookings: the resident's side."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the resident's pages, the booking API, the commands and the date filters."""
    from okienko.doctor import add_check
    from okienko.extensions import csrf

    from . import formatting
    from .api import api
    from .cli import register_cli
    from .doctor import check_service_keys
    from .slots import clock_text
    from .views import bp

    csrf.exempt(api)  # token-less JSON for portals and voice bots
    from . import waitlist  # [waitlist] freed time goes to the waiting list first

    waitlist.connect()
    app.register_blueprint(bp)
    app.register_blueprint(api)
    register_cli(app)
    add_check(app, check_service_keys)
    # [altcha] the bot challenge's settings and its key's check
    from . import challenge

    challenge.init_app(app)
    app.jinja_env.filters.update(
        local_datetime=formatting.local_datetime,
        local_time=formatting.local_time,
        local_date=formatting.local_date,
        month_name=formatting.month_name,
        local_day=formatting.local_day,
        day_halves=formatting.day_halves,
        phone=formatting.phone,
        localized=formatting.in_locale,
        clock=clock_text,
    )
