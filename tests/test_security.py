"""Security defects: redirects off site, HTTP methods, security headers and inline script."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from booking.cli import find_office
from okienko.database import db
from okienko.i18n import LANGUAGES
from queueing.cli import upsert_staff
from tests.helpers.apps import make_app
from tests.helpers.floor import Clerk, signed_in_device, status_token, walk_in
from tests.helpers.forms import csrf_token
from tests.helpers.payloads import booking_payload

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Okienko-test-2026"


def log_in(app: Flask, next_url: str) -> object:
    with app.app_context():
        upsert_staff(find_office("koszalin-zbm"), "anna", "Anna Nowak", PASSWORD)
        db.session.commit()
    client = app.test_client()
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        query_string={"next": next_url},
        data={"csrf_token": token, "username": "anna", "password": PASSWORD},
    )


@pytest.mark.parametrize(
    "next_url",
    [
        "/\t/evil.example",
        "/\t/evil.example/",
        "/\n/evil.example",
        "/\r\nSet-Cookie: a=b",
        "//evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "http:/evil.example",
        "/%09/evil.example",  # already decoded once: stays a harmless path below
        " //evil.example",
        "/\x00/evil.example",
        "/\x7f/evil.example",
        "evil.example",
        "javascript:alert(1)",
        "/counter/\u2028",
    ],
)
def test_login_redirects_only_to_a_path_on_this_site(app: Flask, next_url: str) -> None:
    response = log_in(app, next_url)
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert not re.search(r"[\x00-\x1f\x7f\\]", location), location
    if next_url != "/%09/evil.example":
        assert location == "/counter/", location


def test_login_keeps_a_same_site_path_with_its_query(app: Flask) -> None:
    response = log_in(app, "/counter/?tab=parked")
    assert response.status_code == 302
    assert response.headers["Location"] == "/counter/?tab=parked"


def test_a_tab_in_next_is_not_an_open_redirect_through_the_browser(app: Flask) -> None:
    """The raw query of the issue: ``next=/%09/evil.example`` gave ``Location: //evil.example/``."""
    with app.app_context():
        upsert_staff(find_office("koszalin-zbm"), "anna", "Anna Nowak", PASSWORD)
        db.session.commit()
    for raw in ("next=/%09/evil.example", "next=/%0A/evil.example", "next=/%0D%0AX:%20y"):
        client = app.test_client()
        token = csrf_token(client, "/login")
        response = client.post(
            f"/login?{raw}",
            data={"csrf_token": token, "username": "anna", "password": PASSWORD},
        )
        assert response.status_code == 302, (raw, response.status_code)
        assert response.headers["Location"] == "/counter/", (raw, response.headers["Location"])


@pytest.mark.parametrize("path", ["/\\evil.example/x", "//evil.example/x", "/\t/evil.example"])
def test_language_links_stay_on_the_page_whatever_its_path(app: Flask, path: str) -> None:
    """The language links of any page, a 404 reached by a crafted link included."""
    response = app.test_client().get("/", environ_overrides={"PATH_INFO": path})
    links = re.findall(r'<a lang="[a-z]+" href="([^"]*)"', response.get_data(as_text=True))
    assert len(links) == len(LANGUAGES) - 1, links  # every language but the page's own
    for link in links:
        assert link.startswith("?") or (
            link.startswith("/") and not link.startswith("//") and "\\" not in link
        ), link
        assert "\t" not in link, link


# ------------------------------------------------------------------------ HTTP methods


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH", "FOO", "PROPFIND"])
@pytest.mark.parametrize(
    ("path", "json_body"),
    [("/", False), ("/o/koszalin-zbm", False), ("/api/v1/offices", True), ("/privacy", False)],
)
def test_405_names_the_allowed_methods(app: Flask, method: str, path: str, json_body: bool):
    response = app.test_client().open(path, method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert "GET" in allowed and method not in allowed and "TRACE" not in allowed
    if json_body:
        assert response.get_json()["error"] == "method_not_allowed"


def test_trace_is_refused_like_an_unknown_method_even_where_posts_are_allowed(app: Flask):
    client = app.test_client()
    for method in ("TRACE", "FOO"):
        response = client.open("/login", method=method)
        assert response.status_code == 405
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == {
            "GET",
            "HEAD",
            "OPTIONS",
            "POST",
        }


# ------------------------------------------------------- security headers and script


WEB_TEMPLATES = [p for p in sorted((ROOT / "templates").rglob("*.html")) if p.parent.name != "mail"]


def test_templates_have_no_inline_script_handlers_or_styles() -> None:
    """The CSP allows only scripts and styles from /static: nothing inline may be left."""
    found = []
    for path in WEB_TEMPLATES:
        source = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", source, re.I):
            if "src=" not in tag:
                found.append(f"{path.name}: inline {tag}")
        found += [f"{path.name}: <style>" for _ in re.findall(r"<style\b", source, re.I)]
        found += [
            f"{path.name}: {m}" for m in re.findall(r"\s(on[a-z]+\s*=|style\s*=)", source, re.I)
        ]
        found += [f"{path.name}: javascript: URL" for _ in re.findall("javascript:", source)]
    assert not found, found


def policy(response: object) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")  # type: ignore[attr-defined]
    directives = {}
    for part in header.split(";"):
        if words := part.split():
            directives[words[0].lower()] = words[1:]
    return directives


def page_families(app: Flask) -> dict[str, object]:
    """One response of every kind of page: resident pages, API, floor pages, errors, files."""
    from datetime import UTC, datetime

    import time_machine

    from queueing.models import DeviceKind

    with time_machine.travel(datetime(2026, 11, 25, 9, tzinfo=UTC), tick=True):
        client = app.test_client()
        days = client.get("/api/v1/offices/koszalin-zbm/services/raty/availability").get_json()
        start = next(d["starts"][0] for d in days["days"] if d["starts"])
        booked = client.post(
            "/api/v1/bookings",
            json=booking_payload(start),
        ).get_json()
        token = booked["manage_url"].split("/manage/")[1]
        kiosk = signed_in_device(app)
        ticket_id = walk_in(kiosk)
        ticket_page = kiosk.get(f"/kiosk/ticket/{ticket_id}")
        display = signed_in_device(app, DeviceKind.DISPLAY, "Display 1")
        clerk = Clerk(app, "csp-clerk")
        pages = {
            "offices": client.get("/"),
            "privacy": client.get("/privacy"),
            "office": client.get("/o/koszalin-zbm"),
            "calendar": client.get("/o/koszalin-zbm/raty"),
            "day": client.get(f"/o/koszalin-zbm/raty/{start[:10]}"),
            "booking form": client.get(f"/o/koszalin-zbm/raty/book?start={start}"),
            "manage": client.get(f"/manage/{token}"),
            "qr": client.get(f"/manage/{token}/qr.png"),
            "not found": client.get("/nothing/here"),
            "api": client.get("/api/v1/offices"),
            "api error": client.get("/api/v1/offices/nothing"),
            "login": client.get("/login"),
            "counter": clerk.client.get("/counter/"),
            "kiosk": kiosk.get("/kiosk/"),
            "ticket": ticket_page,
            "display": display.get("/display/"),
            "display state": display.get("/display/state.json"),
            "static": client.get("/static/css/app.css"),
            "ticket status": client.get(f"/t/{status_token(app, ticket_id)}"),
            "ticket worker": client.get("/t/ticket-sw.js"),
        }
    return pages


def test_every_page_family_sends_a_strict_csp_and_the_usual_headers(app: Flask) -> None:
    pages = page_families(app)
    for name, response in pages.items():
        assert response.status_code in (200, 404), (name, response.status_code)  # type: ignore[attr-defined]
        directives = policy(response)
        assert directives, f"{name}: no Content-Security-Policy"
        scripts = directives.get("script-src", directives.get("default-src"))
        assert scripts == ["'self'"], (name, scripts)
        for directive, sources in directives.items():
            assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (
                name,
                directive,
            )
        assert directives.get("object-src") == ["'none'"], name
        assert directives.get("worker-src") == ["'self'"], name  # the ticket's service worker
        assert directives.get("frame-ancestors") == ["'none'"], name
        headers = response.headers  # type: ignore[attr-defined]
        assert headers.get("X-Frame-Options") == "DENY", name
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") == "no-referrer", name
        # Plain http (the demo): no HSTS, and no redirect to https.
        assert "Strict-Transport-Security" not in headers, name


def test_the_session_cookie_works_over_plain_http_by_default(app: Flask) -> None:
    response = app.test_client().get("/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("session=") and "Secure" not in cookie, cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_hsts_and_secure_cookies_behind_https(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    secure = make_app(request, tmp_path, "sqlite", SESSION_COOKIE_SECURE=True)
    response = secure.test_client().get("/login", base_url="https://localhost")
    assert response.status_code == 200
    assert "max-age=" in response.headers.get("Strict-Transport-Security", "")
    assert "Secure" in response.headers.get("Set-Cookie", "")
