"""The OpenAPI document as the tests read it: validators for the schemas at any place in
it, their $refs resolved within the document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from booking.openapi import spec

SPEC = spec()
URI = "urn:okienko:openapi"
REGISTRY = Registry().with_resource(URI, DRAFT202012.create_resource(SPEC))
MEDIA = ("content", "application/json", "schema")


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validator(*parts: str) -> Draft202012Validator:
    """A validator for the schema at ``parts`` in the document, its $refs resolved there."""
    return Draft202012Validator(
        {"$ref": f"{URI}#/{pointer(*parts)}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def assert_valid(schema: Draft202012Validator, instance: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(instance)]
    assert not errors, errors
