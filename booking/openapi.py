"""The OpenAPI document of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Okienko booking API", "version": "1"},
        "paths": {},
    }
