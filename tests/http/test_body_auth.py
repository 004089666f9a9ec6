"""Credentials are checked before a body is read (docs/behaviour.md, Errors: the header, the
token, the IDs, the account, the app, then the request's content): an oversized body sent
without a usable token gets the 400/401/403/404 its credentials earn, never the 400 about its
size, on every route that reads a body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from tests.http.test_errors import assert_gateway
from tests.support.live import LiveServer, Tenant, new_tenant


@pytest.fixture(scope="session")
def server(socket_server: LiveServer) -> LiveServer:
    """reckit on a port here: an unread body must be seen to stay unread on the wire."""
    return socket_server


BIG = b"{" + b" " * (10 * 1024 * 1024) + b"}"  # 10 MB: ten times the limit
TOO_BIG = "BAD_REQUEST: body must be at most 1048576 bytes"
UUID = "8d0e2b1c-0000-4000-8000-000000000000"

# Every route of Cloudflare's API that reads a body: (method, path under the account).
PUBLIC = [
    ("POST", "realtime/kit/{app}/recordings"),
    ("POST", "realtime/kit/{app}/recordings/track"),
    ("PUT", f"realtime/kit/{{app}}/recordings/{UUID}"),
    ("POST", "realtime/kit/{app}/meetings"),
    ("PATCH", f"realtime/kit/{{app}}/meetings/{UUID}"),
    ("PUT", f"realtime/kit/{{app}}/meetings/{UUID}"),
    ("POST", "realtime/kit/apps"),
]
RECORDER = [
    ("POST", "/recorder/v1/poll"),
    ("POST", f"/recorder/v1/recordings/{UUID}/failed"),
    ("POST", f"/recorder/v1/recordings/{UUID}/complete"),
    ("POST", "/recorder/v1/sessions"),
    ("POST", f"/recorder/v1/sessions/{UUID}/participants"),
]


def _send(method: str, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    with httpx.Client(timeout=60) as client:  # a connection of its own each time
        r = client.request(
            method, url, content=BIG, headers={"content-type": "application/json", **headers}
        )
    return r.status_code, r.json()


@pytest.mark.parametrize(("method", "path"), PUBLIC, ids=[f"{m} {p}" for m, p in PUBLIC])
def test_public_routes_check_credentials_before_the_body(
    server: LiveServer, tenant: Tenant, method: str, path: str
) -> None:
    def url(account: str, app: str) -> str:
        return f"{server.api}/accounts/{account}/" + path.format(app=app)

    mine = url(tenant.account_id, tenant.app_id)
    status, body = _send(method, mine, {})
    assert status == 401, body
    assert_gateway(body, 10000)
    status, body = _send(method, mine, {"Authorization": "Bearer " + "x" * 40})
    assert status == 401, body
    assert_gateway(body, 10000)
    status, body = _send(method, mine, {"Authorization": "Basic dXNlcjpwYXNz"})
    assert status == 400, body
    assert_gateway(body, 6003)
    other = new_tenant(server.db)
    status, body = _send(method, mine, other.auth)
    assert status == 403, body
    if "{app}" in path:
        status, body = _send(method, url(tenant.account_id, "0" * 32), tenant.auth)
        assert (status, body["error"]["message"]) == (404, f"App {'0' * 32} not found")
    # Only a request that may go on has its body read, and refused for its size.
    status, body = _send(method, mine, tenant.auth)
    assert (status, body) == (400, {"success": False, "error": {"code": 400, "message": TOO_BIG}})


def test_recorder_routes_check_credentials_before_the_body(
    server: LiveServer, tenant: Tenant
) -> None:
    with server.db.transaction(write=True) as tx:
        token, _ = create_recorder_token(tx, SystemClock(), "body-auth")
    for method, path in RECORDER:
        url = server.url + path
        # No token, an unknown one, and an API token (not a recorder's): 401 each.
        for headers in ({}, {"Authorization": "Bearer rkr_" + "x" * 40}, tenant.auth):
            status, body = _send(method, url, headers)
            assert status == 401, (path, headers, body)
        status, body = _send(method, url, {"Authorization": "Bearer x y"})
        assert status == 400, (path, body)
        assert_gateway(body, 6003)
        status, body = _send(method, url, {"Authorization": f"Bearer {token}"})
        assert (status, body["error"]["message"]) == (400, TOO_BIG), path
