"""Response bodies and the one table that maps domain errors to them (decisions.md, Errors)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from reckit.errors import (
    BadRequest,
    Conflict,
    FilesFinal,
    Forbidden,
    LinkGone,
    LinkTampered,
    MalformedAuth,
    NotFound,
    ReckitError,
    StoreBusy,
    Unauthenticated,
)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def body(data: Any, paging: dict[str, int] | None = None) -> bytes:
    """A success body: {success, data} or {success, data, paging}, no ``result`` (§1.6)."""
    content: dict[str, Any] = {"success": True, "data": data}
    if paging is not None:
        content["paging"] = paging
    return orjson.dumps(content)


def body_of_items(items: list[str], paging: dict[str, int]) -> bytes:
    """``body`` of a list whose items are JSON text already (recordings/service.py)."""
    return body(orjson.Fragment(f"[{','.join(items)}]"), paging)


def ok(data: Any, status: int = 200, paging: dict[str, int] | None = None) -> Response:
    return raw_json(body(data, paging), status)


def raw_json(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/json")


def generic_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """RealtimeKit's own errors: {success, error: {code, message}} (wire-spec §1.7)."""
    return JSONResponse(
        {"success": False, "error": {"code": status, "message": message}},
        status_code=status,
        headers=headers,
    )


def gateway_error(
    status: int,
    code: int,
    message: str,
    chain: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Cloudflare's API-gateway errors: the classic v4 envelope (wire-spec §1.7)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if chain:
        error["error_chain"] = chain
    body = {"success": False, "errors": [error], "messages": [], "result": None}
    return JSONResponse(body, status_code=status, headers=headers)


def for_error(exc: ReckitError) -> JSONResponse:
    match exc:
        case BadRequest() | Conflict():
            return generic_error(400, f"BAD_REQUEST: {exc.message}")
        case NotFound():
            return generic_error(404, exc.message)
        case FilesFinal():
            return generic_error(409, exc.message)
        case LinkTampered():
            return generic_error(403, exc.message)
        case LinkGone():
            return generic_error(410, exc.message)
        case Unauthenticated():
            return gateway_error(401, 10000, "Authentication error")
        case MalformedAuth():
            chain = [{"code": 6111, "message": "Invalid format for Authorization header"}]
            return gateway_error(400, 6003, "Invalid request headers", chain)
        case Forbidden():
            return gateway_error(403, 10000, "Authentication error")
        case StoreBusy():
            # Retryable: the SDKs and reckit's recorder retry a 503 (after retry-after).
            return generic_error(503, exc.message, headers={"retry-after": "1"})
    return internal_error()


def no_route() -> JSONResponse:
    return gateway_error(404, 7003, "No route for the URI")


def method_not_allowed(allowed: list[str]) -> JSONResponse:
    return gateway_error(
        405, 10405, "Method not allowed", headers={"allow": ", ".join(sorted(allowed))}
    )


def rate_limited(retry_after: int, limit: int, window_s: int) -> JSONResponse:
    return gateway_error(
        429,
        971,
        "Please wait and consider throttling your request speed",
        headers={
            "retry-after": str(retry_after),
            "ratelimit": f'"default";r=0;t={retry_after}',
            "ratelimit-policy": f'"default";q={limit};w={window_s}',
        },
    )


def internal_error() -> JSONResponse:
    return generic_error(500, "Internal server error")
