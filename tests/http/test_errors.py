"""Every row of the error table in decisions.md, isolation between accounts, and a corpus of
malformed requests: each a 4xx with the right envelope, none a 500."""

from __future__ import annotations

import http.client
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from reckit.auth.tokens import revoke_token
from reckit.clock import ManualClock, SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.db.schema import migrate
from tests.support.builders import NOW, add_meeting, add_recording
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.openapi_check import validate, validate_response


@pytest.fixture(scope="session")
def server(socket_server: LiveServer) -> LiveServer:
    """reckit on a port here: raw requests that a client library would refuse to send (bad
    paths, odd queries) go through a socket."""
    return socket_server


def raw_get(
    server: LiveServer, target: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], Any]:
    """Send the request line exactly as given: no client-side re-encoding."""
    host = urlsplit(server.url)
    conn = http.client.HTTPConnection(host.hostname or "", host.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = json.loads(resp.read())
        headers = {k.lower(): v for k, v in resp.getheaders()}
        validate(method, target, resp.status, headers["content-type"], body)
        return resp.status, headers, body
    finally:
        conn.close()


def list_path(t: Tenant, prefix: str = "/client/v4") -> str:
    return f"{prefix}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"


def assert_generic(body: Any, status: int) -> str:
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    assert body["error"]["code"] == status
    message: str = body["error"]["message"]
    assert "Traceback" not in message
    return message


def assert_gateway(body: Any, code: int) -> None:
    assert body["success"] is False
    assert body["messages"] == [] and body["result"] is None
    assert body["errors"][0]["code"] == code


# -- the error table ---------------------------------------------------------------------------


def test_bad_query_value_is_400(server: LiveServer, tenant: Tenant, http: ValidatingClient) -> None:
    r = http.get(server.url + list_path(tenant) + "?status=DONE", headers=tenant.auth)
    assert r.status_code == 400
    message = assert_generic(r.json(), 400)
    assert message.startswith('BAD_REQUEST: "status" must be one of [INVOKED, RECORDING')


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, 10000),
        ("Bearer unknown-token-0123456789", 401, 10000),
        ("Basic dXNlcjpwYXNz", 400, 6003),
        ("Bearer", 400, 6003),
        ("Bearer two words", 400, 6003),
        ("Token abc", 400, 6003),
        ("Bearer t\u00e9st", 400, 6003),
    ],
)
def test_authorization_failures(
    server: LiveServer, tenant: Tenant, header: str | None, status: int, code: int
) -> None:
    headers = {} if header is None else {"Authorization": header}
    st, _, body = raw_get(
        server, list_path(tenant), {k: v.encode().decode("latin-1") for k, v in headers.items()}
    )
    assert st == status
    assert_gateway(body, code)
    if code == 6003:
        assert body["errors"][0]["error_chain"] == [
            {"code": 6111, "message": "Invalid format for Authorization header"}
        ]


def test_revoked_token_is_401(server: LiveServer, tenant: Tenant, http: ValidatingClient) -> None:
    url = server.url + list_path(tenant)
    assert http.get(url, headers=tenant.auth).status_code == 200
    with tenant.db.transaction(write=True) as tx:
        assert revoke_token(tx, SystemClock(), tenant.token_id) is True
    r = http.get(url, headers=tenant.auth)
    assert r.status_code == 401
    assert_gateway(r.json(), 10000)


def test_both_permission_groups_may_list(server: LiveServer, http: ValidatingClient) -> None:
    for permission in ("Realtime Admin", "Realtime"):
        t = new_tenant(server.db, permission)
        assert http.get(server.url + list_path(t), headers=t.auth).status_code == 200


def test_other_accounts_token_is_403(
    server: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    other = new_tenant(server.db)
    r = http.get(server.url + list_path(tenant), headers=other.auth)
    assert r.status_code == 403
    assert_gateway(r.json(), 10000)


def test_unknown_app_and_other_accounts_app_are_404(
    server: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    other = new_tenant(server.db)
    for app_id in ("0" * 32, other.app_id):
        url = f"{server.api}/accounts/{tenant.account_id}/realtime/kit/{app_id}/recordings"
        r = http.get(url, headers=tenant.auth)
        assert r.status_code == 404
        # The same answer whether or not the app exists elsewhere (wire-spec §7 item 36).
        assert assert_generic(r.json(), 404) == f"App {app_id} not found"


def test_isolation_between_accounts(server: LiveServer, http: ValidatingClient) -> None:
    a, b = new_tenant(server.db), new_tenant(server.db)
    ma = add_meeting(server.db, a.app_id, "alpha secret meeting")
    add_recording(server.db, a.app_id, ma.id)
    mb = add_meeting(server.db, b.app_id, "beta meeting")
    rb = add_recording(server.db, b.app_id, mb.id)
    body = http.get(server.url + list_path(b), headers=b.auth).json()
    assert [d["id"] for d in body["data"]] == [rb.id]
    # B's token on A's paths, and B's account with A's app: nothing of A's comes back.
    assert http.get(server.url + list_path(a), headers=b.auth).status_code == 403
    mixed = f"{server.api}/accounts/{b.account_id}/realtime/kit/{a.app_id}/recordings"
    assert http.get(mixed, headers=b.auth).status_code == 404
    for query in (f"?meeting_id={ma.id}", "?search=alpha", f"?search={ma.id[:8]}"):
        body = http.get(server.url + list_path(b) + query, headers=b.auth).json()
        assert body["data"] == [] and body["paging"]["total_count"] == 0


def test_unknown_route_and_wrong_method(server: LiveServer, tenant: Tenant) -> None:
    for path in ("/nope", "/client/v4/accounts/x/realtime/kit", list_path(tenant) + "/a/b/c"):
        status, _, body = raw_get(server, path, tenant.auth)
        assert status == 404
        assert_gateway(body, 7003)
        assert body["errors"][0]["message"] == "No route for the URI"
    for method in ("DELETE", "PATCH"):
        status, headers, body = raw_get(server, list_path(tenant), tenant.auth, method)
        assert status == 405
        assert "GET" in headers["allow"]
        assert_gateway(body, 10405)


def test_routes_without_prefix_and_with_trailing_slash(
    server: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    for path in (list_path(tenant, ""), list_path(tenant) + "/"):
        r = http.get(server.url + path, headers=tenant.auth)
        assert r.status_code == 200, path


def test_rate_limit_when_enabled(database: Database) -> None:
    clock = ManualClock(NOW)
    settings = Settings(rate_limit=3, rate_window_s=300, port=free_port())
    with run_server(database, settings, clock) as live, ValidatingClient() as http:
        t = new_tenant(database)
        url = live.url + list_path(t)
        assert [http.get(url, headers=t.auth).status_code for _ in range(3)] == [200] * 3
        r = http.get(url, headers=t.auth)
        assert r.status_code == 429
        assert_gateway(r.json(), 971)
        assert r.headers["retry-after"] == "300"
        assert "ratelimit-policy" in r.headers
        other = new_tenant(database)  # counted per token
        assert http.get(live.url + list_path(other), headers=other.auth).status_code == 200
        clock.advance(300_000)
        assert http.get(url, headers=t.auth).status_code == 200


# Every spelling the server reads as the same token (RFC 7235: the scheme is case-insensitive,
# one or more spaces follow it).
SPELLINGS = [
    "Bearer {t}",
    "bearer {t}",
    "BEARER {t}",
    "BeArEr {t}",
    "Bearer  {t}",
    "bearer     {t}",
]


def test_every_spelling_of_a_token_shares_its_limit(database: Database) -> None:
    clock = ManualClock(NOW)
    settings = Settings(rate_limit=5, rate_window_s=300, port=free_port())
    with run_server(database, settings, clock) as live, ValidatingClient() as http:
        t = new_tenant(database)
        url = live.url + list_path(t)
        for spelling in SPELLINGS[:5]:  # the five allowed, each spelled differently
            r = http.get(url, headers={"authorization": spelling.format(t=t.token)})
            assert r.status_code == 200, spelling
        for spelling in SPELLINGS:
            r = http.get(url, headers={"authorization": spelling.format(t=t.token)})
            assert r.status_code == 429, spelling


def test_unknown_tokens_are_charged_to_the_address(database: Database) -> None:
    clock = ManualClock(NOW)
    settings = Settings(rate_limit=5, rate_window_s=300, port=free_port())
    with run_server(database, settings, clock) as live, ValidatingClient() as http:
        t = new_tenant(database)
        url = live.url + list_path(t)
        # Five made-up tokens use up the address's allowance ...
        for i in range(5):
            r = http.get(url, headers={"authorization": f"Bearer made-up-{i:040d}"})
            assert r.status_code == 401
        # ... so a sixth made-up one (or none at all) is refused before any lookup,
        for header in ("Bearer made-up-again-0000000000000000000000", "Basic abc", ""):
            r = http.get(url, headers={"authorization": header})
            assert r.status_code == 429, header
        # and the made-up tokens left no keys behind: only the address is counted.
        assert live.app.limiter is not None and len(live.app.limiter) <= 2
        clock.advance(300_000)
        assert http.get(url, headers=t.auth).status_code == 200


@pytest.fixture
def broken_store(tmp_path: Path) -> Iterator[tuple[LiveServer, Tenant]]:
    db = Database(f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    migrate(db)
    t = new_tenant(db)
    with run_server(db) as live:
        yield live, t
    db.close()


def test_unexpected_failure_is_a_clean_500(
    broken_store: tuple[LiveServer, Tenant], http: ValidatingClient
) -> None:
    live, t = broken_store
    assert live.db.path.exists()
    with sqlite3.connect(live.db.path) as conn:  # a real fault: the table is gone
        conn.execute("ALTER TABLE recording_day_counts RENAME TO counts_gone")
    r = http.get(live.url + list_path(t), headers=t.auth)
    assert r.status_code == 500
    assert r.json() == {
        "success": False,
        "error": {"code": 500, "message": "Internal server error"},
    }


# -- malformed requests ------------------------------------------------------------------------

BAD_QUERIES = [
    # meeting_id: not a GUID
    "meeting_id=123",
    "meeting_id=not-a-uuid",
    "meeting_id=8d0e2b1c-0000-4000-8000-00000000000",
    "meeting_id=8d0e2b1c-0000-4000-8000-0000000000000",
    "meeting_id=8d0e2b1c000040008000000000000000",
    "meeting_id={8d0e2b1c-0000-4000-8000-000000000000}",
    "meeting_id=8d0e2b1c-0000-4000-8000-00000000000g",
    "meeting_id=%27%20OR%201%3D1--",
    # dates
    "start_time=yesterday",
    "start_time=2024-13-01T00:00:00Z",
    "start_time=2024-02-30T00:00:00Z",
    "end_time=2024-01-01T25:00:00Z",
    "end_time=2024-01-01T00:61:00Z",
    "start_time=1704067200",
    "start_time=2024-01-01T00:00:00+25:00",
    "end_time=2024/01/01",
    "start_time=2024-01-01T00:00:00ZZ",
    "start_time=2024-01-01T00:00:00Z&end_time=2023-01-01T00:00:00Z",
    "end_time=now",
    "start_time=0000-00-00T00:00:00Z",
    # page numbers
    "page_no=-1",
    "page_no=1.5",
    "page_no=abc",
    "page_no=1e3",
    "page_no=%2B1",
    "page_no=0x10",
    "page_no=99999999999999999999999",
    "page_no=1000000001",
    "page_no=NaN",
    "page_no=Infinity",
    "page_no=-0.0",
    "page_no=+1",
    "per_page=-5",
    "per_page=2.5",
    "per_page=ten",
    "per_page=-0.1",
    "per_page=1e2",
    "per_page=" + "9" * 101,
    # enums and booleans
    "status=DONE",
    "status=uploaded",
    "status=UPLOADED,DONE",
    "status[]=NOPE",
    "status=%00",
    "sort_by=invoked_time",
    "sort_by=InvokedTime",
    "sort_order=asc",
    "sort_order=UP",
    "expired=yes",
    "expired=1",
    "expired=",
    "meeting_id=",
    "start_time=",
    "sort_order=",
    "sort_by=",
    # percent-encoding and encoding
    "search=%",
    "search=%zz",
    "search=abc%2",
    "search=%C3%28",
    "search=%FF%FE",
    "page_no=%",
    "meeting_id=%E0%A4%A",
    "%zz=1",
    "search=%00",
    # oversized
    "search=" + "a" * 300,
    "search=" + "b" * 9000,
]
assert len(BAD_QUERIES) >= 60


@pytest.mark.parametrize("query", BAD_QUERIES, ids=range(len(BAD_QUERIES)))
def test_malformed_query_is_400(server: LiveServer, tenant: Tenant, query: str) -> None:
    status, _, body = raw_get(server, f"{list_path(tenant)}?{query}", tenant.auth)
    assert status == 400, (query, body)
    assert_generic(body, 400)
    assert body["error"]["message"].startswith("BAD_REQUEST: ")


def test_malformed_paths(server: LiveServer, tenant: Tenant) -> None:
    long_account = "a" * 33
    long_app = "b" * 33
    cases = {
        f"/client/v4/accounts/{tenant.account_id}/realtime/kit/{long_app}/recordings": 400,
        f"/client/v4/accounts/{tenant.account_id}/realtime/kit/%zz/recordings": 400,
        f"/client/v4/accounts/{tenant.account_id}/realtime/kit/app%2Fx/recordings": 404,
        f"/client/v4/accounts/{tenant.account_id}/realtime/kit/%27%3B--/recordings": 404,
    }
    for path, want in cases.items():
        status, _, body = raw_get(server, path, tenant.auth)
        assert status == want, path
        assert_generic(body, want)
    # Too long an account ID in a token's own scope is a 400; someone else's, a 403 first.
    own = new_tenant(server.db)
    path = f"/client/v4/accounts/{long_account}/realtime/kit/{own.app_id}/recordings"
    status, _, body = raw_get(server, path, own.auth)
    assert status == 400
    assert "account_id" in assert_generic(body, 400)


def test_search_with_sql_and_wildcards_is_literal(
    server: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    m = add_meeting(server.db, tenant.app_id, "plain title")
    add_recording(server.db, tenant.app_id, m.id)
    for needle in ("' OR '1'='1", "%", "_", "\\", '"', "*", "') --", "%_%", "a'b", "NEAR(x y)"):
        r = http.get(server.url + list_path(tenant), params={"search": needle}, headers=tenant.auth)
        assert r.status_code == 200, needle
        assert r.json()["paging"]["total_count"] == 0, needle


def test_every_response_here_matches_the_document(server: LiveServer, tenant: Tenant) -> None:
    """raw_get bypasses the validating client: check a sample of its answers too."""
    import httpx

    for query in ("?page_no=-1", "", "?per_page=0"):
        r = httpx.get(server.url + list_path(tenant) + query, headers=tenant.auth)
        validate_response("GET", list_path(tenant), r)
    _ = NOW
