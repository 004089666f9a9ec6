"""Routes of the recordings (wire-spec §3): parse, call a service, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from reckit.auth.tokens import parse_authorization
from reckit.http import envelopes
from reckit.http.querystring import parse_query
from reckit.recordings.list_query import parse_list_query
from reckit.recordings.service import list_recordings

if TYPE_CHECKING:
    from reckit.http.app import ReckitApp

KIT = "/accounts/{account_id}/realtime/kit/{app_id}"


def register(app: ReckitApp) -> None:
    routes = _Routes(app)
    app.router.add("GET", f"{KIT}/recordings", routes.list)


class _Routes:
    def __init__(self, app: ReckitApp) -> None:
        self.app = app

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        token = parse_authorization(request.headers.get("authorization"))
        account_id, app_id = params["account_id"], params["app_id"]
        query: bytes = request.scope["query_string"]
        key = (app_id, query)
        if self.app.pages.has(key):
            version = await self.app.point_read(self.app.authorize, token, account_id, app_id)
            cached = self.app.pages.get(key, version)
            if cached is not None:
                return envelopes.raw_json(cached)
        version, body, cacheable = await run_in_threadpool(
            self._list_recordings, token, account_id, app_id, query
        )
        if cacheable:
            self.app.pages.put(key, version, body)
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
        paging = {
            "end_offset": page.end_offset,
            "start_offset": page.start_offset,
            "total_count": page.total_count,
        }
        return version, envelopes.body(page.items, paging), q.expired is None
