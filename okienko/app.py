"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from . import doctor, errorpages, scheduler
from . import models as _models  # noqa: F401  the core's tables join the metadata
from .cli import register_cli
from .config import from_environment
from .database import configure_sqlite, db, register_intent
from .extensions import CONTENT_SECURITY_POLICY, babel, csrf, limiter, migrate, talisman
from .i18n import LANGUAGE_NAMES, LANGUAGES, remember_language, select_locale

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides what the environment gives.

    The features named in ``FEATURES`` register themselves, in order, through their
    ``init_app(app)``: the core imports none of them.
    """
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    instance = Path(config["INSTANCE_PATH"]) if config and "INSTANCE_PATH" in config else None
    if instance:
        app.instance_path = str(instance)
    app.config.update(from_environment(Path(app.instance_path)))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    if config:
        app.config.update(config)

    if proxies := app.config.get("TRUSTED_PROXIES"):
        # Flask's documented way to wrap its WSGI callable; mypy sees a method assigned.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    register_intent(app)  # first of the request hooks: before anything reads the database
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    secure = bool(app.config["SESSION_COOKIE_SECURE"])  # served over https (behind a proxy)
    talisman.init_app(
        app,
        # The phone ticket's service worker (/t/ticket-sw.js) is this site's script: said
        # outright rather than left to the fallback on script-src.
        content_security_policy={**CONTENT_SECURITY_POLICY, "worker-src": "'self'"},
        # The demo runs on http://127.0.0.1: no redirect to https, and HSTS and secure
        # cookies only when the installation says it is served over https.
        force_https=False,
        strict_transport_security=secure,
        session_cookie_secure=secure,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        frame_options="DENY",
        # Manage links carry a secret in the path: never leak it in a Referer.
        referrer_policy="no-referrer",
    )

    errorpages.register(app)
    register_cli(app)
    for name in app.config["FEATURES"]:
        import_module(name).init_app(app)

    app.before_request(remember_language)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_locale": str(get_locale()),
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        }

    @app.after_request
    def _headers(response: Any) -> Any:
        # The security headers (CSP, frames, referrer, nosniff) come from Talisman.
        if getattr(g, "no_store", False):
            response.headers["Cache-Control"] = "no-store"
        return response

    doctor.record_secret_key_source(app, config)
    if app.config["SCHEDULER_IN_PROCESS"]:  # last: its first runs render mail at once
        scheduler.start(app)
    return app
