"""Error pages for people and JSON errors for the API, in the reader's language."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: _l("The request could not be understood. Please check what you entered."),
    403: _l("You are not allowed to open this page."),
    404: _l("This page does not exist, or the link is no longer valid."),
    405: _l("This action is not allowed here."),
    413: _l("What you sent is too large."),
    429: _l("Too many requests from your connection. Please wait a while and try again."),
    500: _l("Something went wrong on our side. Please try again in a moment."),
}
GENERIC = _l("The request could not be completed.")
CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "server_error",
}


def wants_json() -> bool:
    """The API, and any client that asks for JSON (the counter's HTTP API)."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def json_error(status: int, error: str, message: object, **extra: object) -> tuple[Response, int]:
    body = {"error": error, "message": str(message), **extra}
    return jsonify(body), status


def _page(status: int, message: object) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        message = _l("Your session has expired. Please go back, reload the page and try again.")
        if wants_json():
            return json_error(400, "csrf", message)
        return _page(400, message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        if exc.response is not None:  # a ready answer, e.g. a rate limit's own page
            return exc.response
        status = exc.code or 500
        message = MESSAGES.get(status, GENERIC)
        response: tuple[Response | str, int]
        if wants_json():
            response = json_error(status, CODES.get(status, "error"), message)
        else:
            response = _page(status, message)
        # The exception's own headers: a 405's Allow, a 429's Retry-After.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return (*response, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error")
        if wants_json():
            return json_error(500, "server_error", MESSAGES[500])
        return _page(500, MESSAGES[500])
