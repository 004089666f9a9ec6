"""The work a serving process does on its own, apart from any request: the lifecycle's timers
and retention (the sweep, with its own lateness counted as the server's stall), the rounds of
transfers to customers' storage, webhook deliveries, and the hourly tidying of reckit's bucket.

``Background`` takes the services of the process (the HTTP layer's ``Context``, or anything
with the same fields) and knows nothing of HTTP: the ASGI application's lifespan calls
``start`` and ``stop``; tests and tools call ``sweep_once`` and ``deliver_once``."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Protocol

from reckit.capture.liveness import Stalls, SweepGaps
from reckit.capture.service import sweep, timers
from reckit.clock import Clock
from reckit.config import Settings
from reckit.crypto import SecretBox
from reckit.db.engine import Database
from reckit.delivery.runner import DeliveryRunner
from reckit.delivery.service import Policy, Publisher
from reckit.nodes import repository as nodes
from reckit.webhooks.events import ensure_key
from reckit.webhooks.runner import WebhookPolicy, WebhookRunner

# The logger these lines have always had (they ran inside the ASGI application).
log = logging.getLogger("reckit.http")
# Untouched this long, a partial upload or temporary copy in the bucket is a crash's leftover:
# uploads write as they receive, and a transfer attempt is bounded far below this.
STALE_S = 6 * 3600
TIDY_EVERY_S = 3600


class Services(Protocol):
    """What the background work needs of the process (``reckit.http.context.Context`` has
    it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def box(self) -> SecretBox: ...
    @property
    def publisher(self) -> Publisher: ...
    @property
    def policy(self) -> Policy: ...
    @property
    def stalls(self) -> Stalls: ...


class Background:
    def __init__(self, ctx: Services) -> None:
        self.ctx = ctx
        # A sweep later than a few intervals (and at least 3 s) means this process stalled.
        allowed_ms = int(max(3.0, 5 * ctx.settings.sweep_interval_s) * 1000)
        self._sweep_gaps = SweepGaps(ctx.stalls, allowed_ms)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Makes the webhook signing key if the store has none, and starts the loops on the
        running event loop, unless the timers are off (``sweep_interval_s`` 0). Webhook
        deliveries run on a thread of their own (webhooks/runner.py)."""
        with self.ctx.db.transaction(write=True) as tx:
            ensure_key(tx, self.ctx.clock.now_ms())
        # RECKIT_BACKGROUND=0: this node serves requests only; other nodes run the loops.
        if self.ctx.settings.background and self.ctx.settings.sweep_interval_s > 0:
            self.webhooks.start()
            self._tasks.append(asyncio.create_task(self._forever(self._sweep_on_time)))
            # Each round starts transfers and returns; they run on the runner's threads.
            self._tasks.append(asyncio.create_task(self._forever(self.delivery.poll)))
            self._tasks.append(asyncio.create_task(self._tidy_bucket()))

    async def stop(self) -> None:
        """Stops the loops; transfers under way get up to RECKIT_SHUTDOWN_GRACE to finish
        (never more than an attempt may take), then the leases of those still under way are
        given back for another node, or this one restarted, to take at once."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        s = self.ctx.settings
        grace = max(0.0, min(s.shutdown_grace_s, self.ctx.policy.attempt_timeout_s))
        await asyncio.to_thread(self.delivery.stop, grace)
        if "webhooks" in self.__dict__:  # made (cached_property): stop it, free its threads
            await asyncio.to_thread(
                self.webhooks.close, max(0.0, min(s.shutdown_grace_s, s.webhook_timeout_s))
            )

    def sweep_once(self) -> int:
        """Apply the lifecycle's timers and retention once (capture/service.py ``sweep``); 0
        at once if another node is sweeping (one sweeper at a time on PostgreSQL: each change
        is a compare-and-set anyway, but retention's bucket deletions need not run twice)."""
        ctx = self.ctx
        with ctx.db.transaction(write=True) as tx:
            if not nodes.try_one_at_a_time(tx, nodes.SWEEP):
                return 0
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

    def webhooks_once(self) -> int:
        """Webhook rounds until one finds nothing due, waiting for each: how many deliveries
        were attempted (webhooks/runner.py)."""
        return self.webhooks.drain()

    @functools.cached_property
    def webhooks(self) -> WebhookRunner:
        s = self.ctx.settings
        policy = WebhookPolicy(
            node_id=self.ctx.policy.node_id or "",
            allow_private=s.webhook_allow_private,
            timeout_s=s.webhook_timeout_s,
            connect_timeout_s=min(5.0, s.webhook_timeout_s),
        )
        return WebhookRunner(self.ctx.db, self.ctx.clock, policy)

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
            await asyncio.sleep(TIDY_EVERY_S)

    async def _forever(self, work: Callable[[], int]) -> None:
        # Every worker process runs these; each change is a compare-and-set and each transfer
        # is leased, so they never clash.
        while True:
            await asyncio.sleep(self.ctx.settings.sweep_interval_s)
            try:
                await asyncio.to_thread(work)
            except Exception:
                log.exception("%s failed; retrying", work.__name__)
