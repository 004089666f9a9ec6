"""JSON request bodies, decoded and validated in one place for every route (public API and
recorder API alike): whatever is malformed (not UTF-8, nested too deep, not an object, a wrong
type or bound) is a 400 naming the field, never a 500."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from reckit.errors import BadRequest
from reckit.ids import is_uuid

T = TypeVar("T")
_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")


def _bad_request(exc: msgspec.ValidationError | msgspec.DecodeError) -> BadRequest:
    """msgspec's message, reworded the Dyte way: ``"video_config.width" expected int <= 1920``."""
    text = str(exc)
    m = _PATH.search(text)
    path = m.group("path") if m else ""
    problem = text[: m.start()] if m else text
    missing = _MISSING.match(problem)
    if missing:
        name = f"{path}.{missing.group('field')}" if path else missing.group("field")
        return BadRequest.field(name, "is required")
    if path and "that's a multiple of 1" in problem:  # a whole float's type (see Px)
        return BadRequest.field(path, "must be a whole number")
    if path.endswith("file_name_prefix") and "matching regex" in problem:
        return BadRequest.field(path, "may hold only ASCII letters, digits, _, - and spaces")
    problem = problem.replace("`int | float`", "int").replace("`", "")
    problem = problem[:1].lower() + problem[1:]
    if not path:
        return BadRequest(
            f"body {problem}"
            if isinstance(exc, msgspec.ValidationError)
            else "body must be a JSON object"
        )
    return BadRequest.field(path, problem)


def decode(body: bytes, kind: type[T]) -> T:
    """Decode and validate a JSON body, or BadRequest naming the field. Every body of every
    route comes through here: whatever is malformed is a 400, never a 500."""
    if not body.strip():
        raise BadRequest("body is required")
    try:
        # RFC 8259 §8.1: JSON is UTF-8. Checked whole and strictly (no overlong forms, no
        # surrogates), also inside keys the type below would skip unread.
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (at byte {exc.start})") from None
    try:
        return msgspec.json.decode(body, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _bad_request(exc) from None
    except RecursionError:
        raise BadRequest("body is nested too deeply") from None


def require_uuid(name: str, value: str) -> str:
    if not is_uuid(value):
        raise BadRequest.field(name, "must be a valid GUID")
    return value.lower()
