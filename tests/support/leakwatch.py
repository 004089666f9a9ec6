"""The leak test's eyes: every request and response that passes through a test server, and
every log line of the test session. Each secret a test sends (any value of a write-only storage
field, wire-spec §2.4) is remembered; at the end of the session no response body and no log line
may contain any of them (conftest.py checks)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reckit.recording_options import SECRET_STORAGE_FIELDS

# Shorter values could occur by chance ("a", "1"); tests use long, distinctive secrets.
MIN_SECRET = 6


class LeakWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._guard = threading.Lock()
        self.secrets: set[str] = set()
        self.bodies: list[bytes] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        with self._guard:
            self.lines.append(text)

    def learn(self, body: bytes) -> None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        found: list[str] = []
        _secrets_in(data, found)
        with self._guard:
            self.secrets.update(s for s in found if len(s) >= MIN_SECRET)

    def add_body(self, body: bytes) -> None:
        with self._guard:
            self.bodies.append(body)

    def leaks(self) -> list[str]:
        out = []
        for secret in sorted(self.secrets):
            needle = secret.encode()
            hits = sum(needle in b for b in self.bodies) + sum(secret in ln for ln in self.lines)
            if hits:
                out.append(f"{secret[:4]}…: {hits} place(s)")
        return out


def _secrets_in(data: Any, out: list[str]) -> None:
    # Iterative: the malformed-request tests send JSON nested a thousand deep.
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in SECRET_STORAGE_FIELDS and isinstance(value, str):
                    out.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


WATCH = LeakWatch()
# Requests with this header teach the watch no secrets: the fuzz tests' generated values. Their
# generator draws strings from constants in the code under test ("sqlite", "postgres", ...),
# which reckit prints for its own reasons; only deliberate, distinctive secrets are watched for.
GENERATED = "x-test-generated-values"
_GENERATED = GENERATED.encode()
# Media and other large bodies are not JSON that could carry a secret back.
_MAX_BODY = 1 << 20


def watched(app: ASGIApp) -> ASGIApp:
    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request: list[bytes] = []
        response: list[bytes] = []
        learn = all(name != _GENERATED for name, _ in scope["headers"])

        async def receive_and_learn() -> Message:
            message = await receive()
            if learn and message["type"] == "http.request" and sum(map(len, request)) < _MAX_BODY:
                request.append(message.get("body", b""))
                if not message.get("more_body"):
                    WATCH.learn(b"".join(request))
            return message

        async def send_and_keep(message: Message) -> None:
            if message["type"] == "http.response.body" and sum(map(len, response)) < _MAX_BODY:
                response.append(message.get("body", b""))
                if not message.get("more_body"):
                    WATCH.add_body(b"".join(response))
            await send(message)

        await app(scope, receive_and_learn, send_and_keep)

    return wrapper
