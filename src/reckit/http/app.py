"""The ASGI application: route, rate-limit, answer errors in the envelope; its lifespan starts
and stops the background work (``reckit.background``). The routes (``routes/``) take the
request context (``context.py``), never this application."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from reckit.background import Background
from reckit.clock import Clock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.delivery.runner import DeliveryRunner
from reckit.errors import ReckitError
from reckit.http import envelopes
from reckit.http.context import Context, build_context
from reckit.http.openapi import openapi_document
from reckit.http.ratelimit import RateLimiter
from reckit.http.router import Handler, Router
from reckit.http.routes import (
    apps,
    capture,
    dashboard,
    downloads,
    meetings,
    nodes,
    ops,
    recordings,
    webhooks,
)

if TYPE_CHECKING:
    from reckit.http.metrics import Metrics

log = logging.getLogger("reckit.http")


class ReckitApp:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.background = Background(ctx)
        self.router = Router()
        self._openapi = envelopes.JSONResponse(openapi_document()).body
        self.router.add("GET", "/openapi.json", self.openapi)
        s = ctx.settings
        self.limiter = (
            RateLimiter(s.rate_limit, s.rate_window_s, ctx.clock) if s.rate_limit else None
        )
        # /metrics' series if it is on (the recorder API reports captures to it).
        self.metrics: Metrics | None = None
        if s.metrics:  # prometheus_client is loaded only then
            from reckit.http.metrics import Metrics

            self.metrics = Metrics(s, ctx.db, ctx.clock)
        for module in (recordings, meetings, apps, downloads, webhooks, nodes, dashboard):
            module.register(self.router, ctx)
        capture.register(self.router, ctx, self.metrics.handed_in if self.metrics else None)
        # The operators' endpoints (routes/ops.py).
        self.readiness = ops.register(self.router, ctx, self.metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.metrics is None:
            response = await self._dispatch(scope, receive)
        else:
            began = time.perf_counter()
            response = await self._dispatch(scope, receive)
            self.metrics.observe(
                scope.get("reckit.route", "unmatched"),
                scope["method"],
                response.status_code,
                time.perf_counter() - began,
                scope.get("query_string", b""),
            )
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Store work runs on worker threads (run_in_threadpool): no more of them than
                # the store's budget (db/engine.py), instead of anyio's default 40.
                to_thread.current_default_thread_limiter().total_tokens = self.ctx.db.threads
                self.background.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.background.stop()
                self.readiness.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # The background work, as tests and tools reach it through the application.
    def sweep_once(self) -> int:
        return self.background.sweep_once()

    def deliver_once(self) -> int:
        return self.background.deliver_once()

    @property
    def delivery(self) -> DeliveryRunner:
        return self.background.delivery

    async def _dispatch(self, scope: Scope, receive: Receive) -> Response:
        try:
            match = self.router.resolve(scope["method"], scope.get("raw_path") or b"")
            if match is None:
                return envelopes.no_route()
            scope["reckit.route"] = match.template  # the metrics' label (http/metrics.py)
            if match.handler is None:
                return envelopes.method_not_allowed(match.allowed)
            request = Request(scope, receive)
            # Cloudflare's API only (its routes name the account): not downloads, not the
            # recorder API.
            if self.limiter is None or "account_id" not in match.params:
                return await self._handle(match.handler, request, match.params)
            header = request.headers.get("authorization")
            client = scope.get("client")
            address = str(client[0]) if client else "unknown"
            blocked = self.limiter.hit(header, address)
            if blocked is not None:
                s = self.ctx.settings
                return envelopes.rate_limited(blocked, s.rate_limit, s.rate_window_s)
            response = await self._handle(match.handler, request, match.params)
            if response.status_code == 401:
                self.limiter.unauthenticated(header, address)
            return response
        except ReckitError as exc:
            return envelopes.for_error(exc)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope.get("path"))
            return envelopes.internal_error()

    @staticmethod
    async def _handle(handler: Handler, request: Request, params: dict[str, str]) -> Response:
        try:
            return await handler(request, params)
        except ReckitError as exc:
            return envelopes.for_error(exc)

    async def openapi(self, request: Request, params: dict[str, str]) -> Response:
        return Response(self._openapi, media_type="application/json")


def build_asgi_app(settings: Settings, db: Database, clock: Clock | None = None) -> ReckitApp:
    """The ASGI application over the services ``build_context`` assembles from ``settings``."""
    return ReckitApp(build_context(settings, db, clock))
