"""The management API's request bodies (docs/spec/webhooks.md): ``name``, ``url`` and
``events`` required on create and replace, any of the four on edit; ``enabled`` defaults to
true. Every problem is a 400 naming the field."""

from __future__ import annotations

from urllib.parse import urlsplit

from msgspec import UNSET, Struct, UnsetType

from reckit.bodies import decode
from reckit.errors import BadRequest
from reckit.webhooks.models import EVENTS, MAX_NAME, MAX_URL


class WebhookBody(Struct, forbid_unknown_fields=False):
    name: str
    url: str
    events: list[str]
    enabled: bool = True


class EditBody(Struct, forbid_unknown_fields=False):
    name: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


def check_name(name: str) -> str:
    if not name.strip():
        raise BadRequest.field("name", "is required")
    if "\x00" in name:
        raise BadRequest.field("name", "must not contain NUL")
    if len(name) > MAX_NAME:
        raise BadRequest.field("name", f"must be at most {MAX_NAME} characters")
    return name


def check_url(url: str) -> str:
    if len(url) > MAX_URL:
        raise BadRequest.field("url", f"must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BadRequest.field("url", "must be a valid uri") from None
    if not all("!" <= c <= "~" for c in url):  # a URI is printable ASCII (RFC 3986)
        raise BadRequest.field("url", "must be a valid uri")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest.field("url", "must be an absolute http or https URL")
    return url


def check_events(events: list[str]) -> tuple[str, ...]:
    if not events:
        raise BadRequest.field("events", "must contain at least 1 item")
    for i, event in enumerate(events):
        if event not in EVENTS:
            raise BadRequest.field(f"events[{i}]", f"must be one of {', '.join(EVENTS)}")
    return tuple(dict.fromkeys(events))


def full(raw: bytes) -> WebhookBody:
    body = decode(raw, WebhookBody)
    check_name(body.name)
    check_url(body.url)
    check_events(body.events)
    return body


def edit(raw: bytes) -> EditBody:
    body = decode(raw, EditBody)
    if not isinstance(body.name, UnsetType):
        check_name(body.name)
    if not isinstance(body.url, UnsetType):
        check_url(body.url)
    if not isinstance(body.events, UnsetType):
        check_events(body.events)
    return body
