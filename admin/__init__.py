"""The office's own administration at /admin/: accounts, the office's settings, its history."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from okienko.database import db
    from queueing.access import login_manager

    from . import listeners as _listeners  # noqa: F401  connects the receivers
    from . import models as _models  # noqa: F401  the tables join the metadata
    from .access import expire_idle_sessions, offices_of
    from .cli import register_cli
    from .views import bp
    from .views.blueprint import SECTIONS
    from .views.signin import bp as signin_bp

    app.register_blueprint(bp)
    app.register_blueprint(signin_bp)
    login_manager.login_view = "staff.login"
    app.before_request(expire_idle_sessions)
    register_cli(app)

    @app.context_processor
    def _admin_globals() -> dict[str, object]:
        return {
            "admin_sections": SECTIONS,
            "admin_offices": lambda u: offices_of(db.session(), u),
            # Links to pages only where they exist (a section may be left out of a build).
            "admin_endpoints": app.view_functions.keys(),
        }
