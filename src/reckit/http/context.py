"""What a route needs, and the one way a route runs authorized work.

``Context`` holds the process's services (settings, database, clock, secret box, publisher,
delivery policy, stalls, page cache); ``build_context`` assembles them from the settings. The
routes take a ``Context``, never the ASGI application, and the background work
(``reckit.background``) takes the same one.

Every authorized request goes through ``authorize``: the realm follows the route's path
parameters (decisions.md, Errors):

- under an app (``account_id`` and ``app_id``): a public token; 401, then 400 for over-long IDs,
  403 for another account, 404 for an app not in it; the grant names the app and its
  ``data_version``;
- under an account only (``account_id``): a public token; 401, 400, 403; the grant names the
  account;
- otherwise (the recorder API): a recorder token; the grant names the recorder.

``run_authorized`` runs ``work(tx, subject)`` in the same transaction as that check, on a worker
thread; ``read_body`` makes the same check, in a transaction of its own, before it reads a
body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from reckit.apps.service import require_app
from reckit.auth.tokens import authenticate, authenticate_under_app, parse_authorization
from reckit.capture.liveness import Stalls
from reckit.capture.tokens import authenticate_recorder
from reckit.clock import Clock, SystemClock
from reckit.config import Settings
from reckit.crypto import SecretBox, load_master_key
from reckit.db.engine import Database, Tx
from reckit.delivery.links import Links
from reckit.delivery.runner import load_node_id
from reckit.delivery.service import Policy, Publisher
from reckit.errors import BadRequest, Forbidden
from reckit.http.page_cache import PageCache
from reckit.ids import MAX_ACCOUNT_ID, MAX_APP_ID
from reckit.storage.registry import open_bucket

T = TypeVar("T")
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Context:
    settings: Settings
    db: Database
    clock: Clock
    box: SecretBox
    publisher: Publisher
    policy: Policy
    stalls: Stalls
    pages: PageCache


def build_context(settings: Settings, db: Database, clock: Clock | None = None) -> Context:
    """The services of one process, from its settings; the database's stalls are counted from
    here on (capture/liveness.py)."""
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
    pages = PageCache(settings.page_cache_bytes)
    return Context(settings, db, time, box, publisher, policy, stalls, pages)


@dataclass(frozen=True)
class Grant:
    """Who may go on: ``subject`` is the app's ID (with its data ``version``), the account's, or
    the recorder's, as the realm of the route says."""

    subject: str
    version: int | None = None


def _check_ids(account_id: str, app_id: str) -> None:
    # The seed page: maxLength 32 on both (decisions.md, Identifiers).
    if len(account_id) > MAX_ACCOUNT_ID:
        raise BadRequest.field("account_id", f"must be at most {MAX_ACCOUNT_ID} characters")
    if len(app_id) > MAX_APP_ID:
        raise BadRequest.field("app_id", f"must be at most {MAX_APP_ID} characters")


def authorize(tx: Tx, token: str, params: dict[str, str]) -> Grant:
    """The token's grant for the route's realm, named by its path parameters (module
    docstring)."""
    if "account_id" not in params:
        return Grant(authenticate_recorder(tx, token))
    account_id = params["account_id"]
    app_id = params.get("app_id")
    if app_id is None:
        principal = authenticate(tx, token)
        if len(account_id) > MAX_ACCOUNT_ID:
            raise BadRequest.field("account_id", f"must be at most {MAX_ACCOUNT_ID} characters")
        if principal.account_id != account_id:
            raise Forbidden()
        return Grant(account_id)
    # The token and the app in one read (a round trip fewer on PostgreSQL); the checks still
    # go in the order of the module docstring.
    principal, app = authenticate_under_app(tx, token, app_id)
    _check_ids(account_id, app_id)
    if principal.account_id != account_id:
        raise Forbidden()
    return Grant(app_id, require_app(tx, account_id, app_id, app))


def token_of(request: Request) -> str:
    """The bearer token of the request's Authorization header (401 without a usable one)."""
    return parse_authorization(request.headers.get("authorization"))


def authorized_in_transaction(
    ctx: Context,
    token: str,
    params: dict[str, str],
    work: Callable[[Tx, Grant], T],
    *,
    write: bool = False,
) -> T:
    """The core: one transaction, ``authorize``, then ``work(tx, grant)`` in it. Blocking."""
    with ctx.db.transaction(write=write) as tx:
        return work(tx, authorize(tx, token, params))


async def run_granted(
    ctx: Context,
    token: str,
    params: dict[str, str],
    work: Callable[[Tx, Grant], T],
    *,
    write: bool = False,
) -> T:
    """``authorized_in_transaction`` on a worker thread, for work that needs the whole grant
    (the recordings list: the app's data version)."""
    return await run_in_threadpool(
        lambda: authorized_in_transaction(ctx, token, params, work, write=write)
    )


async def read_granted(
    ctx: Context, token: str, params: dict[str, str], work: Callable[[Tx, Grant], T]
) -> T:
    """``run_granted`` for a short read (a list page): on SQLite on the event loop itself, on
    PostgreSQL on a worker thread. An embedded read of a page takes well under a millisecond;
    handing it to a worker thread costs more than that under load, where the event loop and
    the workers take the GIL from each other at every row SQLite steps (bench/http_mix.py)."""
    if ctx.db.dialect == "sqlite":
        return authorized_in_transaction(ctx, token, params, work)
    return await run_granted(ctx, token, params, work)


async def run_authorized(
    ctx: Context,
    request: Request,
    params: dict[str, str],
    work: Callable[[Tx, str], T],
    *,
    write: bool = False,
) -> T:
    """Authorize the request for its route's realm, then run ``work(tx, subject)`` in the same
    transaction, on a worker thread: ``subject`` is the app's ID under an app, the account's
    under an account only, the recorder's in the recorder API."""
    return await run_granted(
        ctx, token_of(request), params, lambda tx, grant: work(tx, grant.subject), write=write
    )


async def point_read(ctx: Context, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``: a few indexed lookups, on the event loop for SQLite, else on a worker
    thread."""
    if ctx.db.dialect == "sqlite":
        # A few indexed lookups in an embedded database take microseconds: less than the
        # hop to a worker thread would.
        return fn(*args)
    return await run_in_threadpool(fn, *args)


async def check_authorized(ctx: Context, token: str, params: dict[str, str]) -> Grant:
    """``authorize`` in a read transaction of its own, as a point read."""
    return await point_read(ctx, authorized_in_transaction, ctx, token, params, _grant)


def _grant(tx: Tx, grant: Grant) -> Grant:
    return grant


async def read_body(
    ctx: Context, request: Request, params: dict[str, str], limit: int = MAX_BODY_BYTES
) -> bytes:
    """The request body, read only once the request has passed the checks that come before
    it (docs/behaviour.md, Errors): a request that is refused for its credentials gets its
    400/401/403/404 without sending its body, whatever its size. The checks are
    ``authorize``'s, for the route's realm; the route checks again in its own transaction
    (``run_authorized``). The body is refused past ``limit`` bytes before it is all read."""
    await check_authorized(ctx, token_of(request), params)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"body must be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
