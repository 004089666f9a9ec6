"""A cached page is never served once it is stale, nor to anyone who may not see it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reckit.auth.tokens import revoke_token
from reckit.clock import ManualClock, SystemClock
from reckit.db.engine import Database
from reckit.recordings import lifecycle
from reckit.recordings import live_repository as live
from reckit.seeding import SeedPlan, seed
from reckit.timestamps import DAY_MS
from tests.support.builders import NOW, add_meeting, add_recording
from tests.support.live import LiveServer, ValidatingClient, new_tenant, run_server


@pytest.fixture(scope="session")
def server(socket_server: LiveServer) -> LiveServer:
    """reckit on a port here: bursts of requests from threads of their own, over a socket."""
    return socket_server


def _url(live: LiveServer, account_id: str, app_id: str, query: str = "") -> str:
    return f"{live.api}/accounts/{account_id}/realtime/kit/{app_id}/recordings{query}"


def test_writes_show_at_once(server: LiveServer, http: ValidatingClient) -> None:
    t = new_tenant(server.db)
    url = _url(server, t.account_id, t.app_id)
    m = add_meeting(server.db, t.app_id, "cached")
    first = add_recording(server.db, t.app_id, m.id, status="INVOKED")
    for _ in range(3):  # the second and third answers come from the cache
        assert [d["id"] for d in http.get(url, headers=t.auth).json()["data"]] == [first.id]
    second = add_recording(server.db, t.app_id, m.id, invoked_time=NOW + 1)
    assert [d["id"] for d in http.get(url, headers=t.auth).json()["data"]] == [second.id, first.id]
    with server.db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, first.id)
        assert rec is not None
        began = lifecycle.began(rec, NOW, None)
        assert began is not None and live.transition(tx, rec, began)
    body = http.get(url, headers=t.auth).json()
    assert [d["status"] for d in body["data"]] == ["UPLOADED", "RECORDING"]
    add_meeting(server.db, t.app_id, "an unrelated meeting")  # also a write: no stale page
    assert http.get(url, headers=t.auth).json() == body


def test_every_hit_is_authorised(server: LiveServer, http: ValidatingClient) -> None:
    t = new_tenant(server.db)
    other = new_tenant(server.db)
    url = _url(server, t.account_id, t.app_id, "?per_page=5")
    assert http.get(url, headers=t.auth).status_code == 200
    assert http.get(url, headers=t.auth).status_code == 200
    assert http.get(url, headers=other.auth).status_code == 403
    assert http.get(url).status_code == 401
    with server.db.transaction(write=True) as tx:
        revoke_token(tx, SystemClock(), t.token_id)
    assert http.get(url, headers=t.auth).status_code == 401


def test_expired_follows_the_clock(database: Database) -> None:
    clock = ManualClock(NOW)
    with run_server(database, clock=clock) as live, ValidatingClient() as http:
        t = new_tenant(database)
        m = add_meeting(database, t.app_id, "expiring")
        add_recording(
            database,
            t.app_id,
            m.id,
            download_url_expiry=NOW + DAY_MS,
            download_url="http://127.0.0.1/dl/x.mp4",
        )
        url = _url(live, t.account_id, t.app_id, "?expired=true")
        assert http.get(url, headers=t.auth).json()["paging"]["total_count"] == 0
        clock.advance(DAY_MS)
        assert http.get(url, headers=t.auth).json()["paging"]["total_count"] == 1


def test_a_burst_of_identical_requests_is_each_authorised(server: LiveServer) -> None:
    """Many requests for one page at once (rendered once, the rest wait for it): every caller
    still gets only what its own token allows, and the same page a lone request gets."""
    t = new_tenant(server.db)
    other = new_tenant(server.db)
    with server.db.transaction(write=True) as tx:
        seed(tx, SeedPlan(t.app_id, 3_000, 300, 5, NOW, server.url, b"k" * 32))
    url = _url(server, t.account_id, t.app_id, "?per_page=100&sort_order=ASC")
    mine, theirs, nobody = t.auth, other.auth, {"Authorization": "Bearer nope"}
    callers = [mine] * 30 + [theirs] * 5 + [nobody] * 5
    callers = callers[::2] + callers[1::2]  # interleaved

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.get(url, headers=h) for h in callers))

    answers = asyncio.run(burst())
    with ValidatingClient() as http:
        alone = http.get(url, headers=t.auth)
    assert alone.status_code == 200 and len(alone.json()["data"]) == 100
    expected = {id(mine): 200, id(theirs): 403, id(nobody): 401}
    assert [r.status_code for r in answers] == [expected[id(h)] for h in callers]
    assert all(r.json() == alone.json() for r in answers if r.status_code == 200)
