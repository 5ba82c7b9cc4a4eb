"""Where a ``?next=`` may send a browser: only to a path on this site (no open redirect)."""

from __future__ import annotations

from typing import TypeGuard
from urllib.parse import urlsplit


def same_site_path(target: str | None) -> TypeGuard[str]:
    r"""Whether ``target`` is a path on this site: no scheme, no host, no backslash, no
    control characters.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
    ``/%09/evil.example`` (decoded) or ``/\evil.example`` would leave the site; and a
    newline cannot go into a Location header at all.
    """
    if not target or not (target.isascii() and target.isprintable()) or "\\" in target:
        return False
    parts = urlsplit(target)
    return (
        target.startswith("/")
        and not target.startswith("//")
        and not (parts.scheme or parts.netloc)
    )
