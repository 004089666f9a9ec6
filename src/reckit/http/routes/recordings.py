"""Routes of the recordings (wire-spec §3): parse, call a service, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from reckit.auth.tokens import parse_authorization
from reckit.http import envelopes
from reckit.http.querystring import parse_query
from reckit.recordings import service
from reckit.recordings.list_query import parse_list_query
from reckit.recordings.service import list_recordings

if TYPE_CHECKING:
    from reckit.http.app import ReckitApp

KIT = "/accounts/{account_id}/realtime/kit/{app_id}"


def register(app: ReckitApp) -> None:
    routes = _Routes(app)
    app.router.add("GET", f"{KIT}/recordings", routes.list)
    app.router.add("POST", f"{KIT}/recordings", routes.start)
    app.router.add("POST", f"{KIT}/recordings/track", routes.start_track)
    app.router.add("GET", f"{KIT}/recordings/{{recording_id}}", routes.get_one)
    app.router.add("PUT", f"{KIT}/recordings/{{recording_id}}", routes.act)
    app.router.add("GET", f"{KIT}/recordings/active-recording/{{meeting_id}}", routes.active)


class _Routes:
    def __init__(self, app: ReckitApp) -> None:
        self.app = app
        self.clock = app.ctx.clock

    async def start(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self.app.body(request, params)
        # The SDK numbers its retries (wire-spec §1.4, §7 item 24b).
        retried = request.headers.get("x-stainless-retry-count", "0").strip() not in ("", "0")
        data = await self.app.in_app(
            request, params,
            lambda tx, app_id: service.start_recording(
                tx, self.clock, self.app.ctx.box, app_id, raw, retried=retried),
            write=True,
        )  # fmt: skip
        return envelopes.ok(data)

    async def start_track(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self.app.body(request, params)
        data = await self.app.in_app(
            request, params,
            lambda tx, app_id: service.start_track_recording(
                tx, self.clock, self.app.ctx.box, app_id, raw),
            write=True,
        )  # fmt: skip
        return envelopes.ok(data)

    async def get_one(self, request: Request, params: dict[str, str]) -> Response:
        rid = params["recording_id"]
        data = await self.app.in_app(
            request, params, lambda tx, app_id: service.get_one_recording(tx, app_id, rid)
        )
        return envelopes.ok(data)

    async def act(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self.app.body(request, params)
        rid = params["recording_id"]
        data = await self.app.in_app(
            request, params,
            lambda tx, app_id: service.act_on_recording(tx, self.clock, app_id, rid, raw),
            write=True,
        )  # fmt: skip
        return envelopes.ok(data)

    async def active(self, request: Request, params: dict[str, str]) -> Response:
        mid = params["meeting_id"]
        data = await self.app.in_app(
            request, params, lambda tx, app_id: service.get_active_recording(tx, app_id, mid)
        )
        return envelopes.ok(data)

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        token = parse_authorization(request.headers.get("authorization"))
        account_id, app_id = params["account_id"], params["app_id"]
        query: bytes = request.scope["query_string"]
        key = (app_id, query)
        pages = self.app.pages
        for waited in (False, True):
            if pages.has(key):
                version = await self.app.point_read(self.app.authorize, token, account_id, app_id)
                cached = pages.get(key, version)
                if cached is not None:
                    return envelopes.raw_json(cached)
            # Another request is rendering this page: wait (once) for its answer to be cached.
            # If it failed, may not be cached or is already stale, this request renders.
            if waited or not await pages.wait_for_render(key):
                break
        with pages.rendering(key):
            version, body, cacheable = await run_in_threadpool(
                self._list_recordings, token, account_id, app_id, query
            )
            if cacheable:
                pages.put(key, version, body)
        return envelopes.raw_json(body)

    def _list_recordings(
        self, token: str, account_id: str, app_id: str, query: bytes
    ) -> tuple[int, bytes, bool]:
        """(data version, body, whether the body may be cached)."""
        ctx = self.app.ctx
        with ctx.db.transaction() as tx:
            version = self.app.authorize_in(tx, token, account_id, app_id)
            q = parse_list_query(
                parse_query(query, ctx.settings.max_query_bytes), ctx.settings.max_per_page
            )
            page = list_recordings(tx, ctx.clock, app_id, q)
        return version, envelopes.body(page.items, page.paging()), q.expired is None
