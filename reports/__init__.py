"""Reports and statistics for managers: visitors, bookings, services, waits, handling, load."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import listeners as _listeners  # noqa: F401  connects the receivers
    from .api import bp as api_bp
    from .sql import register_sqlite_functions
    from .views import bp

    register_sqlite_functions()
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
