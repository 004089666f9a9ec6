"""Routes of the recordings (wire-spec §3): parse, call a service, render."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from reckit import recording_options as options
from reckit.db.engine import Tx
from reckit.http import envelopes
from reckit.http.context import (
    Context,
    Grant,
    check_authorized,
    read_body,
    read_granted,
    run_authorized,
    token_of,
)
from reckit.http.querystring import parse_query
from reckit.http.router import Router
from reckit.recordings import service
from reckit.recordings.list_query import parse_list_query
from reckit.recordings.service import list_recordings

KIT = "/accounts/{account_id}/realtime/kit/{app_id}"


def register(router: Router, ctx: Context) -> None:
    routes = _Routes(ctx)
    router.add("GET", f"{KIT}/recordings", routes.list)
    router.add("POST", f"{KIT}/recordings", routes.start)
    router.add("POST", f"{KIT}/recordings/track", routes.start_track)
    router.add("GET", f"{KIT}/recordings/{{recording_id}}", routes.get_one)
    router.add("PUT", f"{KIT}/recordings/{{recording_id}}", routes.act)
    router.add("GET", f"{KIT}/recordings/active-recording/{{meeting_id}}", routes.active)


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.clock = ctx.clock

    async def start(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        # A page recording's url: refused if it is private, before the transaction (resolving
        # its host may take a while).
        allow = self.ctx.settings.page_allow_private
        await run_in_threadpool(options.check_page_outside, raw, allow)
        # The SDK numbers its retries (wire-spec §1.4, §7 item 24b).
        retried = request.headers.get("x-stainless-retry-count", "0").strip() not in ("", "0")
        data = await run_authorized(
            self.ctx,
            request,
            params,
            lambda tx, app_id: service.start_recording(
                tx, self.clock, self.ctx.box, app_id, raw, retried=retried
            ),
            write=True,
        )
        return envelopes.ok(data)

    async def start_track(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        data = await run_authorized(
            self.ctx,
            request,
            params,
            lambda tx, app_id: service.start_track_recording(
                tx, self.clock, self.ctx.box, app_id, raw
            ),
            write=True,
        )
        return envelopes.ok(data)

    async def get_one(self, request: Request, params: dict[str, str]) -> Response:
        rid = params["recording_id"]
        data = await run_authorized(
            self.ctx, request, params, lambda tx, app_id: service.get_one_recording(tx, app_id, rid)
        )
        return envelopes.ok(data)

    async def act(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        rid = params["recording_id"]
        data = await run_authorized(
            self.ctx,
            request,
            params,
            lambda tx, app_id: service.act_on_recording(tx, self.clock, app_id, rid, raw),
            write=True,
        )
        return envelopes.ok(data)

    async def active(self, request: Request, params: dict[str, str]) -> Response:
        mid = params["meeting_id"]
        data = await run_authorized(
            self.ctx,
            request,
            params,
            lambda tx, app_id: service.get_active_recording(tx, app_id, mid),
        )
        return envelopes.ok(data)

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        token = token_of(request)
        query: bytes = request.scope["query_string"]
        key = (params["app_id"], query)
        pages = self.ctx.pages
        for waited in (False, True):
            if pages.has(key):
                grant = await check_authorized(self.ctx, token, params)
                cached = pages.get(key, _version(grant))
                if cached is not None:
                    return envelopes.raw_json(cached)
            # Another request is rendering this page: wait (once) for its answer to be cached.
            # If it failed, may not be cached or is already stale, this request renders.
            if waited or not await pages.wait_for_render(key):
                break
        with pages.rendering(key):

            def work(tx: Tx, grant: Grant) -> tuple[int, bytes, bool]:
                return (_version(grant), *self._list_recordings(tx, grant.subject, query))

            version, body, cacheable = await read_granted(self.ctx, token, params, work)
            if cacheable:
                pages.put(key, version, body)
        return envelopes.raw_json(body)

    def _list_recordings(self, tx: Tx, app_id: str, query: bytes) -> tuple[bytes, bool]:
        """(body, whether the body may be cached)."""
        ctx = self.ctx
        q = parse_list_query(
            parse_query(query, ctx.settings.max_query_bytes), ctx.settings.max_per_page
        )
        page = list_recordings(tx, ctx.clock, app_id, q)
        return envelopes.body_of_items(page.items, page.paging()), q.expired is None


def _version(grant: Grant) -> int:
    assert grant.version is not None  # the recordings are under an app
    return grant.version
