"""The JSON API against its own OpenAPI document, with Schemathesis.

Schemathesis reads ``/api/v1/openapi.json`` from the app and sends requests it generates
from it to every operation, valid and invalid ones: no answer may be a 500, each status
and body must be one the document describes, and a request the document allows must not
be refused as malformed. The clock is fixed, so the offices' free times are known days.
(Schemathesis's own pytest plugin does not load under this pytest; its strategies do.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings


def test_every_operation_answers_as_documented(app: Flask, clock: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def answers_as_documented(case: Any) -> None:
            case.call_and_validate()

        answers_as_documented()
        checked.append(operation.label)
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    described = [
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    ]
    # Every operation but the document itself (Schemathesis leaves its source out).
    assert set(checked) == set(described) - {"GET /openapi.json"}
