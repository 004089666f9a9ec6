"""reckit's extensions about the recorders (nodes/waiting.py): why a recording waits for a
recorder (authorized like fetching the recording), and the nodes sharing the store with how
many of the app's recordings wait and why (authorized like listing the app's recordings)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reckit.db.engine import Tx
from reckit.http import envelopes
from reckit.http.context import Context, run_authorized
from reckit.http.router import Router
from reckit.nodes import waiting

KIT = "/accounts/{account_id}/realtime/kit/{app_id}"


def register(router: Router, ctx: Context) -> None:
    routes = _Routes(ctx)
    router.add("GET", f"{KIT}/recordings/{{recording_id}}/waiting", routes.recording_waiting)
    router.add("GET", f"{KIT}/nodes", routes.nodes)


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _claim_timeout_ms(self) -> int:
        return int(self.ctx.settings.claim_timeout_s * 1000)

    async def recording_waiting(self, request: Request, params: dict[str, str]) -> Response:
        now = self.ctx.clock.now_ms()
        rid = params["recording_id"]

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return waiting.recording_waiting(tx, now, app_id, rid, self._claim_timeout_ms())

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))

    async def nodes(self, request: Request, params: dict[str, str]) -> Response:
        now = self.ctx.clock.now_ms()

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return waiting.app_nodes(tx, now, app_id, self._claim_timeout_ms())

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))
