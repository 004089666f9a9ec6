"""Routes of the meetings (wire-spec §4.1): parse, call a service, render.

Bodies and queries are read inside the authorised transaction, so that a request with bad
credentials gets its 401/403/404 before any complaint about its content."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reckit.db.engine import Tx
from reckit.http import envelopes
from reckit.http.context import Context, read_body, run_authorized
from reckit.http.querystring import parse_query
from reckit.http.router import Router
from reckit.meetings import bodies, render, service
from reckit.meetings.list_query import parse_meeting_query

MEETINGS = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"


def register(router: Router, ctx: Context) -> None:
    routes = _Routes(ctx)
    router.add("GET", MEETINGS, routes.list)
    router.add("POST", MEETINGS, routes.create)
    router.add("GET", f"{MEETINGS}/{{meeting_id}}", routes.get)
    router.add("PATCH", f"{MEETINGS}/{{meeting_id}}", routes.update)
    router.add("PUT", f"{MEETINGS}/{{meeting_id}}", routes.replace)


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        settings = self.ctx.settings
        query: bytes = request.scope["query_string"]

        def work(tx: Tx, app_id: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
            q = parse_meeting_query(
                parse_query(query, settings.max_query_bytes), settings.max_per_page
            )
            page = service.list_meetings(tx, app_id, q)
            items = [render.meeting(m, ai_config=False) for m in page.items]
            paging = page.paging()
            return items, paging

        items, paging = await run_authorized(self.ctx, request, params, work)
        return envelopes.ok(items, paging=paging)

    async def create(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        clock = self.ctx.clock

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            body = bodies.parse_create(raw)
            return render.meeting(service.create_meeting(tx, clock, self.ctx.box, app_id, body))

        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True), 201)

    async def get(self, request: Request, params: dict[str, str]) -> Response:
        # The ``name`` query parameter has no documented purpose (wire-spec §4.1): ignored.
        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return render.meeting(service.require_meeting(tx, app_id, params["meeting_id"]))

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))

    async def update(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        clock = self.ctx.clock

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            service.require_meeting(tx, app_id, params["meeting_id"])  # 400/404 before the body
            body = bodies.parse_update(raw)
            meeting = service.update_meeting(
                tx, clock, self.ctx.box, app_id, params["meeting_id"], body
            )
            return render.meeting(meeting)

        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True))

    async def replace(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        clock = self.ctx.clock

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            service.require_meeting(tx, app_id, params["meeting_id"])
            body = bodies.parse_create(raw)
            meeting = service.replace_meeting(
                tx, clock, self.ctx.box, app_id, params["meeting_id"], body
            )
            return render.meeting(meeting)

        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True))
