"""The operators' endpoints, outside Cloudflare's API and its OpenAPI document: no credentials
(``/metrics`` may ask for ``RECKIT_METRICS_TOKEN``), no data of any app.

- ``GET /healthz``: the process is up and answers (200 ``{"status": "ok"}``);
- ``GET /readyz``: the store answers, its migrations are this reckit's, and reckit's bucket
  answers (200); otherwise 503 with what failed, per check;
- ``GET /metrics``: Prometheus text (http/metrics.py), only when ``RECKIT_METRICS=1``.

A load balancer sends traffic to nodes whose ``/readyz`` answers 200. Each check runs on a
thread of its own, at most one at a time per process (a probe that comes while one is under
way waits for its answer), and counts as failed after ``CHECK_TIMEOUT_S``: a store or bucket
that does not answer fails the probe without tying up the threads requests need."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from reckit.db.schema import MIGRATIONS
from reckit.http.context import Context
from reckit.http.router import Router
from reckit.ops import repository as ops

if TYPE_CHECKING:
    from reckit.http.metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text format
CHECK_TIMEOUT_S = 3.0
PROBE_KEY = "reckit-readyz-probe"  # never written: a stat that finds nothing is an answer


def _json(status: int, body: object) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def _reason(exc: BaseException) -> str:
    """What failed, in one short line (the error's type and first line; no data)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:200] if first else type(exc).__name__


class Readiness:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="readyz")
        self._running: dict[str, asyncio.Future[str | None]] = {}
        self.wanted = {m.version for m in MIGRATIONS}

    def _store(self) -> str | None:
        with self.ctx.db.transaction() as tx:
            applied = ops.applied_migrations(tx)
        missing = sorted(self.wanted - applied)
        if missing:
            return (
                f"migrations {', '.join(map(str, missing))} not applied: run `reckit migrate` "
                "(or start `reckit serve`, which applies them)"
            )
        return None

    def _bucket(self) -> str | None:
        self.ctx.publisher.bucket.stat(PROBE_KEY)
        return None

    async def _check(self, name: str, fn: Callable[[], str | None]) -> str | None:
        running = self._running.get(name)
        if running is None or running.done():
            loop = asyncio.get_running_loop()
            running = asyncio.ensure_future(loop.run_in_executor(self._pool, fn))
            self._running[name] = running
        try:
            return await asyncio.wait_for(asyncio.shield(running), CHECK_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT_S:g} s"
        except Exception as exc:
            return _reason(exc)

    async def checks(self) -> dict[str, str]:
        store, bucket = await asyncio.gather(
            self._check("store", self._store), self._check("bucket", self._bucket)
        )
        return {"store": store or "ok", "bucket": bucket or "ok"}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def register(router: Router, ctx: Context, metrics: Metrics | None) -> Readiness:
    readiness = Readiness(ctx)

    async def healthz(request: Request, params: dict[str, str]) -> Response:
        return _json(200, {"status": "ok"})

    async def readyz(request: Request, params: dict[str, str]) -> Response:
        checks = await readiness.checks()
        ready = all(v == "ok" for v in checks.values())
        return _json(200 if ready else 503, {"status": "ready" if ready else "not ready", **checks})

    router.add("GET", "/healthz", healthz)
    router.add("GET", "/readyz", readyz)
    if metrics is None:
        return readiness
    token = ctx.settings.metrics_token

    async def metrics_page(request: Request, params: dict[str, str]) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return _json(401, {"status": "unauthorized"})
        body = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})

    router.add("GET", "/metrics", metrics_page)
    return readiness
