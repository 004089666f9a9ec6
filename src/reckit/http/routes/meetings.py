"""Routes of the meetings (wire-spec §4.1): parse, call a service, render.

Bodies and queries are read inside the authorised transaction, so that a request with bad
credentials gets its 401/403/404 before any complaint about its content."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from reckit.db.engine import Tx
from reckit.http import envelopes
from reckit.http.querystring import parse_query
from reckit.meetings import bodies, render, service
from reckit.meetings.list_query import parse_meeting_query

if TYPE_CHECKING:
    from reckit.http.app import ReckitApp

MEETINGS = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"


def register(app: ReckitApp) -> None:
    routes = _Routes(app)
    app.router.add("GET", MEETINGS, routes.list)
    app.router.add("POST", MEETINGS, routes.create)
    app.router.add("GET", f"{MEETINGS}/{{meeting_id}}", routes.get)
    app.router.add("PATCH", f"{MEETINGS}/{{meeting_id}}", routes.update)
    app.router.add("PUT", f"{MEETINGS}/{{meeting_id}}", routes.replace)


class _Routes:
    def __init__(self, app: ReckitApp) -> None:
        self.app = app

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        settings = self.app.ctx.settings
        query: bytes = request.scope["query_string"]

        def work(tx: Tx, app_id: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
            q = parse_meeting_query(
                parse_query(query, settings.max_query_bytes), settings.max_per_page
            )
            page = service.list_meetings(tx, app_id, q)
            items = [render.meeting(m, ai_config=False) for m in page.items]
            paging = page.paging()
            return items, paging

        items, paging = await self.app.in_app(request, params, work)
        return envelopes.ok(items, paging=paging)

    async def create(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self.app.body(request, params)
        clock = self.app.ctx.clock

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            body = bodies.parse_create(raw)
            return render.meeting(service.create_meeting(tx, clock, self.app.ctx.box, app_id, body))

        return envelopes.ok(await self.app.in_app(request, params, work, write=True), 201)

    async def get(self, request: Request, params: dict[str, str]) -> Response:
        # The ``name`` query parameter has no documented purpose (wire-spec §4.1): ignored.
        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return render.meeting(service.require_meeting(tx, app_id, params["meeting_id"]))

        return envelopes.ok(await self.app.in_app(request, params, work))

    async def update(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self.app.body(request, params)
        clock = self.app.ctx.clock

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            service.require_meeting(tx, app_id, params["meeting_id"])  # 400/404 before the body
            body = bodies.parse_update(raw)
            meeting = service.update_meeting(
                tx, clock, self.app.ctx.box, app_id, params["meeting_id"], body
            )
            return render.meeting(meeting)

        return envelopes.ok(await self.app.in_app(request, params, work, write=True))

    async def replace(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self.app.body(request, params)
        clock = self.app.ctx.clock

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            service.require_meeting(tx, app_id, params["meeting_id"])
            body = bodies.parse_create(raw)
            meeting = service.replace_meeting(
                tx, clock, self.app.ctx.box, app_id, params["meeting_id"], body
            )
            return render.meeting(meeting)

        return envelopes.ok(await self.app.in_app(request, params, work, write=True))
