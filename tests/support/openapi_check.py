"""Validate a live response against the OpenAPI document reckit serves."""

from __future__ import annotations

import functools
import re
from typing import Any

import httpx
import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from reckit.http.openapi import openapi_document


@functools.cache
def _document() -> dict[str, Any]:
    return openapi_document()


@functools.cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        "urn:reckit", DRAFT202012.create_resource(_document())
    )
    return registry


@functools.cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    # As the router: literal segments before parameters, so /recordings/track is not taken
    # for /recordings/{recording_id}.
    templates = sorted(
        _document()["paths"], key=lambda t: tuple(p.startswith("{") for p in t.split("/"))
    )
    for template in templates:
        regex = re.sub(r"\{[^}]+\}", "[^/]+", template)
        out.append((re.compile(rf"^(?:/client/v4)?{regex}/?$"), template))
    return out


def operation_for(method: str, path: str) -> dict[str, Any] | None:
    for pattern, template in _path_patterns():
        if pattern.match(path):
            op: dict[str, Any] | None = _document()["paths"][template].get(method.lower())
            return op
    return None


def validate_response(method: str, path: str, response: httpx.Response) -> None:
    """Raise AssertionError unless the response is one the document describes: its status, its
    body and the headers the document gives that status."""
    validate(method, path, response.status_code, response.headers["content-type"], response.json())
    validate_headers(method, path, response.status_code, response.headers)


def validate_headers(method: str, path: str, status_code: int, headers: httpx.Headers) -> None:
    op = operation_for(method, path.split("?", 1)[0])
    if op is None:
        return
    documented = op["responses"].get(str(status_code), {}).get("headers", {})
    for name, spec in documented.items():
        value = headers.get(name)  # case-insensitive
        if value is None:
            assert not spec.get("required"), f"{method} {path} {status_code}: no {name} header"
            continue
        schema = spec["schema"]
        typed: Any = value
        if schema.get("type") == "integer":
            assert re.fullmatch(r"-?[0-9]+", value), f"{name}: {value!r} is not an integer"
            typed = int(value)
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(typed))
        assert not errors, f"{method} {path} {status_code}: header {name}: {errors[0].message}"


def validate(method: str, path: str, status_code: int, content_type: str, body: Any) -> None:
    path = path.split("?", 1)[0]
    op = operation_for(method, path)
    if op is None:
        # Not a documented route: reckit must answer with the gateway's 404/405 envelope.
        assert status_code in (404, 405), (path, status_code)
        schema: dict[str, Any] = {"$ref": "urn:reckit#/components/schemas/GatewayError"}
    else:
        responses = op["responses"]
        status = str(status_code)
        assert status in responses, f"{method} {path}: undocumented status {status}"
        schema = responses[status]["content"]["application/json"]["schema"]
        schema = _rebase(schema)
    assert content_type.startswith("application/json")
    validator = jsonschema.Draft202012Validator(
        {"$ref": schema["$ref"]} if "$ref" in schema else schema,
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].path)}"


def _rebase(schema: Any) -> Any:
    """Point the document's local references at the registered copy."""
    if isinstance(schema, dict):
        return {
            k: (f"urn:reckit{v}" if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema
