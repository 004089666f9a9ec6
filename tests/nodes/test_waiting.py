"""Why a recording waits for a recorder, through a real server over HTTP: the
``…/recordings/{id}/waiting`` and ``…/nodes`` extensions, every answer checked against the
OpenAPI document. The node registry's rows stand for the nodes (each as its heartbeat writes
it); a recorder claims through the recorder API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reckit.clock import ManualClock, SystemClock
from reckit.config import Settings
from reckit.nodes import repository as nodes
from reckit.nodes.waiting import GONE_AFTER_MS, PAGE_GRACE_MS
from tests.support.builders import add_meeting
from tests.support.flows import Scripted
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.pg import own_database

NOW = 1_790_000_000_000


@dataclass
class World:
    live: LiveServer
    clock: ManualClock
    tenant: Tenant
    http: httpx.Client

    @property
    def kit(self) -> str:
        t = self.tenant
        return f"{self.live.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"

    def start(self, **body: Any) -> str:
        meeting = add_meeting(self.live.db, self.tenant.app_id, "waiting")
        r = self.http.post(f"{self.kit}/recordings", json={"meeting_id": meeting.id, **body})
        assert r.status_code == 200, r.text
        return str(r.json()["data"]["id"])

    def waiting(self, rid: str) -> dict[str, Any]:
        r = self.http.get(f"{self.kit}/recordings/{rid}/waiting")
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def node(self, node_id: str, capacity: int, in_use: int, roles: tuple[str, ...]) -> None:
        with self.live.db.transaction(write=True) as tx:
            nodes.register(
                tx,
                node_id,
                hostname="secret-host.internal",
                pid=4242,
                roles=roles,
                url="http://10.9.8.7:8787",
                recorder_capacity=capacity,
                now_ms=self.clock.now_ms(),
            )
            nodes.heartbeat(tx, node_id, in_use, self.clock.now_ms())


@pytest.fixture
def world(engine: str, tmp_path: Path) -> Iterator[World]:
    clock = ManualClock(NOW)
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp_path,
        page_allow_private=True,
        claim_timeout_s=120,
    )
    with (
        own_database(engine, tmp_path) as db,  # no other test's nodes or waiting recordings
        run_server(db, settings, clock) as live,
        ValidatingClient() as http,
    ):
        tenant = new_tenant(db)
        http.headers.update(tenant.auth)
        yield World(live, clock, tenant, http)


def test_no_recorder_running(world: World) -> None:
    rid = world.start()
    world.clock.advance(7_000)
    got = world.waiting(rid)
    assert got["waiting"] is True and got["claim_timeout_s"] == 120
    assert got["since"] == "2026-09-21T14:13:20.000Z"
    reason = got["reason"]
    assert reason.startswith("no built-in recorder is running (a recorder of your own may")
    assert "since 2026-09-21T14:13:20.000Z (7 s)" in reason
    assert "ends ERRORED if no recorder claims it within 120 s" in reason
    # A node without the recorder role, or a recorder gone silent, is no recorder.
    world.node("api-only", 0, 0, ("api", "background"))
    world.node("silent", 4, 0, ("api", "recorder"))
    world.clock.advance(GONE_AFTER_MS + 1)
    world.node("api-only", 0, 0, ("api", "background"))
    assert world.waiting(rid)["reason"].startswith("no built-in recorder is running")


def test_every_slot_busy(world: World) -> None:
    world.node("a", 2, 2, ("api", "recorder"))
    world.node("b", 1, 1, ("recorder",))
    rid = world.start()
    reason = world.waiting(rid)["reason"]
    assert reason.startswith("every built-in recorder is busy (3 of 3 slots in use)"), reason


def test_a_free_slot(world: World) -> None:
    world.node("a", 3, 1, ("api", "recorder"))
    rid = world.start()
    reason = world.waiting(rid)["reason"]
    assert reason.startswith("2 slots free: a recorder should claim it within seconds"), reason


def test_free_slots_go_to_the_recordings_ahead(world: World) -> None:
    world.node("a", 2, 1, ("recorder",))
    first = world.start()
    world.clock.advance(1)
    second = world.start()
    assert world.waiting(first)["reason"].startswith("1 slot free: a recorder should claim")
    reason = world.waiting(second)["reason"]
    assert reason.startswith("1 slot free, for the 1 recording(s) that waits ahead of it"), reason
    world.clock.advance(1)
    world.start()
    # The app's view groups the reasons, whatever their place in the queue.
    reasons = world.http.get(f"{world.kit}/nodes").json()["data"]["waiting"]["reasons"]
    assert reasons == [
        {"reason": "1 slot free: a recorder should claim it within seconds", "count": 1},
        {"reason": "1 slot free, for the recordings that wait ahead of it", "count": 2},
    ]


def test_a_page_recording_no_recorder_has_room_for(world: World) -> None:
    world.node("a", 4, 0, ("recorder",))
    rid = world.start(url="http://127.0.0.1:9/page")
    assert world.waiting(rid)["reason"].startswith("4 slots free: a recorder should claim")
    world.clock.advance(PAGE_GRACE_MS)
    world.node("a", 4, 0, ("recorder",))
    reason = world.waiting(rid)["reason"]
    assert reason.startswith("no recorder has room for a page recording (4 slots free"), reason


def test_a_claimed_recording_no_longer_waits(world: World) -> None:
    world.node("a", 1, 0, ("recorder",))
    rid = world.start()
    assert world.waiting(rid)["waiting"] is True
    recorder = Scripted.connect(world.live.url, world.live.db, SystemClock(), "claims-it")
    claimed = recorder.poll(1, [])  # a 4xx or 5xx raises
    recorder.close()
    assert [a["id"] for a in claimed] == [rid]
    assert world.waiting(rid) == {
        "waiting": False,
        "reason": None,
        "since": None,
        "claim_timeout_s": 120,
    }
    # Stopped before it began: ERRORED, and not waiting either.
    assert world.http.put(f"{world.kit}/recordings/{rid}", json={"action": "stop"}).is_success
    assert world.waiting(rid)["waiting"] is False


def test_another_accounts_token_gets_404(world: World) -> None:
    rid = world.start()
    other = new_tenant(world.live.db)
    auth = other.auth
    mine = f"{world.live.api}/accounts/{other.account_id}/realtime/kit/{other.app_id}"
    theirs = f"{world.live.api}/accounts/{other.account_id}/realtime/kit/{world.tenant.app_id}"
    for url in (f"{mine}/recordings/{rid}/waiting", f"{theirs}/recordings/{rid}/waiting"):
        r = world.http.get(url, headers=auth)
        assert r.status_code == 404, r.text
        assert rid not in r.text or "not found" in r.text
    assert world.http.get(f"{theirs}/nodes", headers=auth).status_code == 404
    # Not an ID at all: a 400, never a 500.
    assert world.http.get(f"{world.kit}/recordings/not-an-id/waiting").status_code == 400


def test_the_nodes_of_the_store_without_their_addresses(world: World) -> None:
    world.node("a", 2, 2, ("api", "background", "recorder"))
    world.node("b", 0, 0, ("api",))
    world.clock.advance(3_000)
    world.start()
    world.clock.advance(1)
    world.start()
    r = world.http.get(f"{world.kit}/nodes")
    assert r.status_code == 200, r.text
    for secret in ("secret-host", "4242", "10.9.8.7", "hostname", "pid", "url"):
        assert secret not in r.text
    data = r.json()["data"]
    by_id = {n["id"]: n for n in data["nodes"]}
    assert by_id["a"] == {
        "id": "a",
        "state": "up",
        "roles": ["api", "background", "recorder"],
        "recorder_slots": 2,
        "recorder_slots_in_use": 2,
        "heartbeat_at": "2026-09-21T14:13:20.000Z",
        "seconds_since_heartbeat": 3,
    }
    assert by_id["b"]["recorder_slots"] is None and by_id["b"]["roles"] == ["api"]
    assert data["waiting"] == {
        "count": 2,
        "since": "2026-09-21T14:13:23.000Z",
        "reasons": [
            {"reason": "every built-in recorder is busy (2 of 2 slots in use)", "count": 2}
        ],
        "claim_timeout_s": 120,
    }
    # A node not heard from is gone.
    world.clock.advance(GONE_AFTER_MS)
    world.node("b", 0, 0, ("api",))
    states = {
        n["id"]: n["state"] for n in world.http.get(f"{world.kit}/nodes").json()["data"]["nodes"]
    }
    assert states == {"a": "gone", "b": "up"}
    # The other app of the store sees the nodes, not this app's recordings.
    other = new_tenant(world.live.db)
    url = f"{world.live.api}/accounts/{other.account_id}/realtime/kit/{other.app_id}/nodes"
    theirs = world.http.get(url, headers=other.auth).json()["data"]
    assert theirs["waiting"] == {"count": 0, "since": None, "reasons": [], "claim_timeout_s": 120}
    assert len(theirs["nodes"]) == 2
