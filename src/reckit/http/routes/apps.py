"""Routes of the apps (wire-spec §4.2): the only routes under an account alone."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reckit.apps import render
from reckit.apps.bodies import parse_create_app
from reckit.apps.list_query import parse_app_query
from reckit.apps.service import create_app, list_apps
from reckit.db.engine import Tx
from reckit.http import envelopes
from reckit.http.context import Context, read_body, run_authorized
from reckit.http.querystring import parse_query
from reckit.http.router import Router

APPS = "/accounts/{account_id}/realtime/kit/apps"


def register(router: Router, ctx: Context) -> None:
    routes = _Routes(ctx)
    router.add("GET", APPS, routes.list)
    router.add("POST", APPS, routes.create)


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        settings = self.ctx.settings
        query: bytes = request.scope["query_string"]

        def work(tx: Tx, account_id: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
            q = parse_app_query(parse_query(query, settings.max_query_bytes), settings.max_per_page)
            page = list_apps(tx, account_id, q)
            paging = page.paging()
            return [render.app(a) for a in page.items], paging

        items, paging = await run_authorized(self.ctx, request, params, work)
        return envelopes.ok(items, paging=paging)

    async def create(self, request: Request, params: dict[str, str]) -> Response:
        raw = await read_body(self.ctx, request, params)
        clock = self.ctx.clock

        def work(tx: Tx, account_id: str) -> dict[str, Any]:
            body = parse_create_app(raw)
            return {"app": render.app(create_app(tx, clock, account_id, body.name))}

        # 200, not 201: wire-spec §4.2 and decisions.md's error table.
        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True))
