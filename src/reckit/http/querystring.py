"""Strict query-string decoding: malformed percent-encoding or UTF-8 is a 400, not a guess."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from reckit.errors import BadRequest

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def decode_component(raw: bytes, what: str) -> str:
    if _BAD_ESCAPE.search(raw):
        raise BadRequest(f"{what} has invalid percent-encoding")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None


def parse_query(raw: bytes, max_bytes: int) -> list[tuple[str, str]]:
    if len(raw) > max_bytes:
        raise BadRequest(f"query string is longer than {max_bytes} bytes")
    pairs: list[tuple[str, str]] = []
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        pairs.append(
            (
                decode_component(key.replace(b"+", b" "), "query string"),
                decode_component(value.replace(b"+", b" "), "query string"),
            )
        )
    return pairs
