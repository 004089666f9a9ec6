"""The body of ``POST …/apps`` (wire-spec §4.2), decoded and checked by msgspec."""

from __future__ import annotations

from typing import Annotated

import msgspec

from reckit.bodies import decode
from reckit.errors import BadRequest

MAX_NAME = 255  # the spec gives none


class CreateAppBody(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]


def parse_create_app(raw: bytes) -> CreateAppBody:
    body = decode(raw, CreateAppBody)
    if "\x00" in body.name:
        raise BadRequest.field("name", "must not contain NUL characters")
    return body
