"""A small router over the raw path: each segment is percent-decoded on its own, so an ID with an
encoded "/" stays one segment (wire-spec §1.1), and a trailing slash is accepted (§7 item 38)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from reckit.http.querystring import decode_component

Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]
PREFIX = ("client", "v4")
# Paths resolved before, with what they resolved to; cleared whole when it holds this many.
RESOLVED_KEPT = 4_096


@dataclass
class _Route:
    parts: tuple[str, ...]
    methods: dict[str, Handler] = field(default_factory=dict)
    template: str = ""

    def __post_init__(self) -> None:
        self.template = "/" + "/".join(self.parts)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.parts):
            return None
        params: dict[str, str] = {}
        for part, seg in zip(self.parts, segments, strict=True):
            if part.startswith("{"):
                params[part[1:-1]] = seg
            elif part != seg:
                return None
        return params


@dataclass
class Match:
    handler: Handler | None
    params: dict[str, str]
    allowed: list[str]
    # The route as registered (``/accounts/{account_id}/…``): a label without the IDs.
    template: str = ""


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []
        # A client polls the same few paths: each is decoded and matched once, then looked up.
        self._resolved: dict[tuple[str, bytes], Match | None] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        parts = tuple(p for p in path.split("/") if p)
        self._resolved.clear()
        for route in self._routes:
            if route.parts == parts:
                route.methods[method] = handler
                return
        self._routes.append(_Route(parts, {method: handler}))
        # Literal segments win over parameters, earliest position first: /recordings/track
        # before /recordings/{recording_id}.
        self._routes.sort(key=lambda r: tuple(p.startswith("{") for p in r.parts))

    def resolve(self, method: str, raw_path: bytes) -> Match | None:
        raw = raw_path.split(b"?", 1)[0]
        key = (method, raw)
        try:
            found = self._resolved[key]
        except KeyError:
            found = self._resolve(method, raw)
            if len(self._resolved) >= RESOLVED_KEPT:
                self._resolved.clear()
            self._resolved[key] = found
        if found is None:
            return None
        # The caller's own parameters: a route may not change another request's.
        return Match(found.handler, dict(found.params), found.allowed, found.template)

    def _resolve(self, method: str, raw: bytes) -> Match | None:
        segments = [decode_component(s, "path") for s in raw.split(b"/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()  # one trailing slash
        if tuple(segments[:2]) == PREFIX:
            segments = segments[2:]
        for route in self._routes:
            params = route.match(segments)
            if params is None:
                continue
            handler = route.methods.get(method) or (
                route.methods.get("GET") if method == "HEAD" else None
            )
            return Match(handler, params, list(route.methods), route.template)
        return None
