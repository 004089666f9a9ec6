"""reckit in this process without a socket: the ASGI application on an event loop of its own
(an anyio blocking portal), its lifespan run as uvicorn runs it, and requests handed to it by
httpx's ``ASGITransport``. A test reaches it by URL, as it reaches a server on a port: its host
is ``reckit-<n>.inprocess``, and ``Routed`` (the transport of every ``ValidatingClient``) sends
those hosts to the application and every other host over the network."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp, Message

HOSTS: dict[str, InProcess] = {}
_numbers = itertools.count(1)


class InProcess:
    """One ASGI application, served to httpx requests from another thread."""

    def __init__(self, app: ASGIApp, portal: BlockingPortal) -> None:
        self._portal = portal
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(inner)
            # The bytes as sent: the outer Response decodes them as a network answer would be.
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers.raw, raw

        status, headers, raw = self._portal.call(send)
        return httpx.Response(status, headers=headers, content=raw, request=request)


class Routed(httpx.BaseTransport):
    """In-process applications by host (``HOSTS``); any other host over the network."""

    def __init__(self) -> None:
        self._network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        app = HOSTS.get(request.url.host)
        if app is None:
            return self._network.handle_request(request)
        return app.handle(request)

    def close(self) -> None:
        self._network.close()


async def _lifespan(
    app: ASGIApp, started: anyio.Event, stopping: anyio.Event, problems: list[str]
) -> None:
    """What uvicorn does with ``lifespan="on"``: startup, then shutdown once told."""
    sent_startup = False

    async def receive() -> Message:
        nonlocal sent_startup
        if not sent_startup:
            sent_startup = True
            return {"type": "lifespan.startup"}
        await stopping.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: Message) -> None:
        if message["type"].endswith(".failed"):
            problems.append(str(message.get("message", message["type"])))
        if message["type"].startswith("lifespan.startup."):
            started.set()

    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await app(scope, receive, send)


def new_base_url() -> str:
    """A base URL no other in-process application has."""
    return f"http://reckit-{next(_numbers)}.inprocess"


@contextlib.contextmanager
def serve_in_process(app: ASGIApp, base_url: str) -> Iterator[None]:
    """Run ``app`` (its lifespan too) at ``base_url`` (``new_base_url``) until the block
    ends."""
    host = httpx.URL(base_url).host
    with start_blocking_portal() as portal:
        started, stopping = portal.call(anyio.Event), portal.call(anyio.Event)
        problems: list[str] = []
        done = portal.start_task_soon(_lifespan, app, started, stopping, problems)
        portal.call(started.wait)
        if problems:
            raise RuntimeError(f"reckit did not start: {problems}")
        HOSTS[host] = InProcess(app, portal)
        try:
            yield
        finally:
            del HOSTS[host]
            portal.call(stopping.set)
            done.result(timeout=30)
