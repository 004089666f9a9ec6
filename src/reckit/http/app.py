"""The ASGI application: route, authenticate, call a service, render."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from reckit.apps.service import require_app
from reckit.auth.tokens import authenticate, parse_authorization
from reckit.capture.liveness import Stalls, SweepGaps
from reckit.capture.service import sweep, timers
from reckit.capture.tokens import authenticate_recorder
from reckit.clock import Clock, SystemClock
from reckit.config import Settings
from reckit.crypto import SecretBox, load_master_key
from reckit.db.engine import Database, Tx
from reckit.delivery.links import Links
from reckit.delivery.runner import DeliveryRunner, load_node_id
from reckit.delivery.service import Policy, Publisher
from reckit.errors import BadRequest, Forbidden, ReckitError
from reckit.http import envelopes
from reckit.http.openapi import openapi_document
from reckit.http.page_cache import PageCache
from reckit.http.ratelimit import RateLimiter
from reckit.http.router import Handler, Router
from reckit.ids import MAX_ACCOUNT_ID, MAX_APP_ID
from reckit.storage.registry import open_bucket

log = logging.getLogger("reckit.http")
T = TypeVar("T")
MAX_BODY_BYTES = 1024 * 1024
# Untouched this long, a partial upload or temporary copy in the bucket is a crash's leftover:
# uploads write as they receive, and a transfer attempt is bounded far below this.
STALE_S = 6 * 3600


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock
    box: SecretBox
    publisher: Publisher
    policy: Policy
    stalls: Stalls


def _check_ids(account_id: str, app_id: str) -> None:
    # The seed page: maxLength 32 on both (decisions.md, Identifiers).
    if len(account_id) > MAX_ACCOUNT_ID:
        raise BadRequest.field("account_id", f"must be at most {MAX_ACCOUNT_ID} characters")
    if len(app_id) > MAX_APP_ID:
        raise BadRequest.field("app_id", f"must be at most {MAX_APP_ID} characters")


class ReckitApp:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.router = Router()
        self.router.add("GET", "/openapi.json", self.openapi)
        self._openapi = envelopes.JSONResponse(openapi_document()).body
        s = ctx.settings
        self.pages = PageCache(s.page_cache_bytes)
        # A sweep later than a few intervals (and at least 3 s) means this process stalled.
        allowed_ms = int(max(3.0, 5 * s.sweep_interval_s) * 1000)
        self._sweep_gaps = SweepGaps(ctx.stalls, allowed_ms)
        self.limiter = (
            RateLimiter(s.rate_limit, s.rate_window_s, ctx.clock) if s.rate_limit else None
        )
        # Imported here: the route modules import this one for its types.
        from reckit.http.routes import apps, capture, downloads, meetings, recordings

        for module in (recordings, meetings, apps, capture, downloads):
            module.register(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = await self._dispatch(scope, receive)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        tasks: list[asyncio.Task[None]] = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.ctx.settings.sweep_interval_s > 0:
                    tasks.append(asyncio.create_task(self._forever(self._sweep_on_time)))
                    # Each round starts transfers and returns; they run on the runner's threads.
                    tasks.append(asyncio.create_task(self._forever(self.delivery.poll)))
                    tasks.append(asyncio.create_task(self._tidy_bucket()))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in tasks:
                    task.cancel()
                # Transfers under way get a moment to finish; the others' leases are given back.
                grace = min(5.0, self.ctx.policy.attempt_timeout_s)
                await asyncio.to_thread(self.delivery.stop, grace)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def sweep_once(self) -> int:
        """Apply the lifecycle's timers and retention once (capture/service.py ``sweep``)."""
        ctx = self.ctx
        with ctx.db.transaction(write=True) as tx:
            return sweep(tx, ctx.clock.now_ms(), timers(ctx.settings), ctx.publisher, ctx.stalls)

    def _sweep_on_time(self) -> int:
        # The background sweep notices its own lateness: a stalled process or store is the
        # server's trouble, not its recorders' silence (capture/liveness.py).
        self._sweep_gaps.before(self.ctx.clock.now_ms())
        changed = self.sweep_once()
        self._sweep_gaps.succeeded(self.ctx.clock.now_ms())
        return changed

    def deliver_once(self) -> int:
        """One round of transfers to customers' storage, waiting for those it started (each
        until it ends or times out): how many it started (delivery/runner.py)."""
        return self.delivery.run_once()

    @functools.cached_property
    def delivery(self) -> DeliveryRunner:
        ctx = self.ctx
        return DeliveryRunner(ctx.db, ctx.box, ctx.publisher, ctx.policy, ctx.clock)

    async def _tidy_bucket(self) -> None:
        """At start and every hour: what a crash left half-made in reckit's bucket (a partial
        upload, a temporary copy) and nothing has touched for STALE_S is deleted."""
        while True:
            try:
                await asyncio.to_thread(self.ctx.publisher.bucket.remove_stale, STALE_S)
            except Exception:
                log.exception("tidying the bucket failed; trying again later")
            await asyncio.sleep(3600)

    async def _forever(self, work: Callable[[], int]) -> None:
        # Every worker process runs these; each change is a compare-and-set and each transfer
        # is leased, so they never clash.
        while True:
            await asyncio.sleep(self.ctx.settings.sweep_interval_s)
            try:
                await asyncio.to_thread(work)
            except Exception:
                log.exception("%s failed; retrying", work.__name__)

    async def _dispatch(self, scope: Scope, receive: Receive) -> Response:
        try:
            match = self.router.resolve(scope["method"], scope.get("raw_path") or b"")
            if match is None:
                return envelopes.no_route()
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

    async def point_read(self, fn: Callable[..., T], *args: Any) -> T:
        if self.ctx.db.dialect == "sqlite":
            # A few indexed lookups in an embedded database take microseconds: less than the
            # hop to a worker thread would.
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    async def in_app(
        self,
        request: Request,
        params: dict[str, str],
        work: Callable[[Tx, str], T],
        *,
        write: bool = False,
    ) -> T:
        """Authorize the request for the app in its path, then run ``work(tx, app_id)`` in the
        same transaction, on a worker thread."""
        token = parse_authorization(request.headers.get("authorization"))
        account_id, app_id = params["account_id"], params["app_id"]

        def run() -> T:
            with self.ctx.db.transaction(write=write) as tx:
                self.authorize_in(tx, token, account_id, app_id)
                return work(tx, app_id)

        return await run_in_threadpool(run)

    async def in_account(
        self,
        request: Request,
        params: dict[str, str],
        work: Callable[[Tx, str], T],
        *,
        write: bool = False,
    ) -> T:
        """As ``in_app`` for routes under an account only (the apps): ``work(tx, account_id)``."""
        token = parse_authorization(request.headers.get("authorization"))
        account_id = params["account_id"]

        def run() -> T:
            with self.ctx.db.transaction(write=write) as tx:
                self.authorize_account_in(tx, token, account_id)
                return work(tx, account_id)

        return await run_in_threadpool(run)

    async def body(
        self, request: Request, params: dict[str, str], limit: int = MAX_BODY_BYTES
    ) -> bytes:
        """The request body, read only once the request has passed the checks that come before
        it (docs/behaviour.md, Errors): a request that is refused for its credentials gets its
        400/401/403/404 without sending its body, whatever its size. The checks follow the
        route's path: under an app (``in_app``'s), under an account (``in_account``'s), else the
        recorder API's token. The route checks again in its own transaction. The body is
        refused past ``limit`` bytes before it is all read."""
        header = request.headers.get("authorization")
        await self.point_read(self._admit, header, params)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(f"body must be at most {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _admit(self, header: str | None, params: dict[str, str]) -> None:
        token = parse_authorization(header)
        with self.ctx.db.transaction() as tx:
            if "app_id" in params:
                self.authorize_in(tx, token, params["account_id"], params["app_id"])
            elif "account_id" in params:
                self.authorize_account_in(tx, token, params["account_id"])
            else:
                authenticate_recorder(tx, token)

    @staticmethod
    def authorize_account_in(tx: Tx, token: str, account_id: str) -> None:
        """As ``authorize_in`` for routes under an account only (401, 400, 403)."""
        principal = authenticate(tx, token)
        if len(account_id) > MAX_ACCOUNT_ID:
            raise BadRequest.field("account_id", f"must be at most {MAX_ACCOUNT_ID} characters")
        if principal.account_id != account_id:
            raise Forbidden()

    def authorize(self, token: str, account_id: str, app_id: str) -> int:
        with self.ctx.db.transaction() as tx:
            return self.authorize_in(tx, token, account_id, app_id)

    @staticmethod
    def authorize_in(tx: Tx, token: str, account_id: str, app_id: str) -> int:
        """The app's data version, once the token may use it (decisions.md, Errors: 401, then
        400 for over-long IDs, 403 for another account, 404 for an app not in it)."""
        principal = authenticate(tx, token)
        _check_ids(account_id, app_id)
        if principal.account_id != account_id:
            raise Forbidden()
        return require_app(tx, account_id, app_id)


def create_app(settings: Settings, db: Database, clock: Clock | None = None) -> ReckitApp:
    box = SecretBox(load_master_key(settings.data_dir, settings.secret_key))
    publisher = Publisher(
        open_bucket(settings),
        Links(settings.base_url, box),
        int(settings.retention_days * 86_400_000),
    )
    policy = Policy(
        attempts=settings.delivery_attempts,
        backoff_ms=int(settings.delivery_backoff_s * 1000),
        lease_ms=int(settings.job_lease_s * 1000),
        endpoints=dict(settings.storage_endpoints),
        concurrency=max(1, settings.delivery_concurrency),
        per_host=max(1, settings.delivery_per_host),
        attempt_timeout_s=settings.delivery_attempt_timeout_s,
        node_id=load_node_id(settings.data_dir),
    )
    time: Clock = clock or SystemClock()
    stalls = Stalls(time.now_ms())

    def store_stalled(waited_ms: int) -> None:
        now = time.now_ms()
        stalls.add(now - waited_ms, now)

    db.stall_listeners.append(store_stalled)
    return ReckitApp(Context(settings, db, time, box, publisher, policy, stalls))
