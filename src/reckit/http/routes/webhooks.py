"""Routes of the webhooks (docs/spec/webhooks.md; wire-spec §4.3): the six operations of SDK
5.9.0, ``GET …/webhooks/all``, reckit's extensions (deliveries, redeliver), and the public key at
``/.well-known/webhooks.json`` (no credentials; cached by receivers)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from reckit.db.engine import Tx
from reckit.http import envelopes
from reckit.http.context import Context, point_read, read_body, run_authorized
from reckit.http.router import Router
from reckit.webhooks import service

WEBHOOKS = "/accounts/{account_id}/realtime/kit/{app_id}/webhooks"
ONE = f"{WEBHOOKS}/{{webhook_id}}"
KEY_URL = "/.well-known/webhooks.json"


def register(router: Router, ctx: Context) -> None:
    routes = _Routes(ctx)
    router.add("GET", WEBHOOKS, routes.list)
    router.add("POST", WEBHOOKS, routes.create)
    router.add("GET", f"{WEBHOOKS}/all", routes.events)
    router.add("GET", ONE, routes.get)
    router.add("PATCH", ONE, routes.edit)
    router.add("PUT", ONE, routes.replace)
    router.add("DELETE", ONE, routes.delete)
    router.add("GET", f"{ONE}/deliveries", routes.deliveries)
    router.add("POST", f"{ONE}/deliveries/{{delivery_id}}/redeliver", routes.redeliver)
    router.add("GET", KEY_URL, routes.public_key)


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _body(self, request: Request, params: dict[str, str]) -> bytes:
        """The body, its ``url`` checked by the SSRF guard before any transaction (a host may
        take a while to resolve); the operation then does not resolve it again."""
        raw = await read_body(self.ctx, request, params)
        allow = self.ctx.settings.webhook_allow_private
        await run_in_threadpool(service.check_url_outside, raw, allow)
        return raw

    async def list(self, request: Request, params: dict[str, str]) -> Response:
        def work(tx: Tx, app_id: str) -> list[dict[str, Any]]:
            return service.list_webhooks(tx, app_id)

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))

    async def create(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self._body(request, params)
        now = self.ctx.clock.now_ms()

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return service.create(tx, now, app_id, raw, True)  # url checked by _body

        made = await run_authorized(self.ctx, request, params, work, write=True)
        return envelopes.ok(made, 201)

    async def events(self, request: Request, params: dict[str, str]) -> Response:
        def work(tx: Tx, app_id: str) -> list[str]:
            return service.all_events()

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))

    async def get(self, request: Request, params: dict[str, str]) -> Response:
        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return service.get(tx, app_id, params["webhook_id"])

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))

    async def edit(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self._body(request, params)
        now = self.ctx.clock.now_ms()

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return service.edit(tx, now, app_id, params["webhook_id"], raw, True)  # _body

        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True))

    async def replace(self, request: Request, params: dict[str, str]) -> Response:
        raw = await self._body(request, params)
        now = self.ctx.clock.now_ms()

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return service.replace_webhook(tx, now, app_id, params["webhook_id"], raw, True)

        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True))

    async def delete(self, request: Request, params: dict[str, str]) -> Response:
        now = self.ctx.clock.now_ms()

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return service.delete(tx, now, app_id, params["webhook_id"])

        return envelopes.ok(await run_authorized(self.ctx, request, params, work, write=True))

    async def deliveries(self, request: Request, params: dict[str, str]) -> Response:
        def work(tx: Tx, app_id: str) -> list[dict[str, Any]]:
            return service.deliveries(tx, app_id, params["webhook_id"])

        return envelopes.ok(await run_authorized(self.ctx, request, params, work))

    async def redeliver(self, request: Request, params: dict[str, str]) -> Response:
        now = self.ctx.clock.now_ms()

        def work(tx: Tx, app_id: str) -> dict[str, Any]:
            return service.redeliver(tx, now, app_id, params["webhook_id"], params["delivery_id"])

        made = await run_authorized(self.ctx, request, params, work, write=True)
        return envelopes.ok(made, 201)

    async def public_key(self, request: Request, params: dict[str, str]) -> Response:
        pem = await point_read(self.ctx, self._key)
        response = envelopes.JSONResponse(
            {"success": True, "data": {"publicKey": pem}, "message": ""}
        )
        response.headers["cache-control"] = "public, max-age=3600"
        return response

    def _key(self) -> str:
        with self.ctx.db.transaction() as tx:
            key = service.known_public_key(tx)
        if key is not None:
            return key
        with self.ctx.db.transaction(write=True) as tx:  # before the first start made one
            return service.public_key(tx, self.ctx.clock.now_ms())
