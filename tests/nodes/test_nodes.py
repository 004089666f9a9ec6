"""The node registry on both engines (register, heartbeat, stop, list) and one sweeper at a
time on PostgreSQL: a node's sweep changes nothing while another node's holds the lock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reckit.clock import ManualClock, SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.http.app import build_asgi_app
from reckit.nodes import repository as nodes
from reckit.nodes.registry import NodeRegistry
from reckit.recordings import live_repository as live
from tests.support.builders import add_meeting, add_recording
from tests.support.live import new_tenant
from tests.support.pg import own_database


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Iterator[Database]:
    with own_database(engine, tmp_path) as db:
        yield db


def test_a_node_registers_beats_and_stops(store: Database) -> None:
    clock = ManualClock(1_000_000)
    slots = [0]
    registry = NodeRegistry(
        store,
        clock,
        "node-a",
        ("api", "recorder"),
        url="http://10.0.0.1:8787",
        recorder_capacity=4,
        in_use=lambda: slots[0],
        heartbeat_s=3600,  # beats only when told (beat_once)
    )
    registry.start()
    try:
        with store.transaction() as tx:
            [a] = nodes.all_nodes(tx)
        assert (a.id, a.roles, a.url, a.recorder_capacity, a.recorder_in_use) == (
            "node-a",
            ("api", "recorder"),
            "http://10.0.0.1:8787",
            4,
            0,
        )
        assert a.started_at == a.heartbeat_at == 1_000_000 and a.stopped_at is None
        slots[0] = 3
        clock.advance(5_000)
        registry.beat_once()
        with store.transaction() as tx:
            [a] = nodes.all_nodes(tx)
        assert (a.recorder_in_use, a.heartbeat_at) == (3, 1_005_000)
    finally:
        clock.advance(1_000)
        registry.stop()
    with store.transaction() as tx:
        [a] = nodes.all_nodes(tx)
    assert (a.stopped_at, a.recorder_in_use) == (1_006_000, 0)
    # Started again: the same row, alive, nothing in use.
    clock.advance(1_000)
    again = NodeRegistry(store, clock, "node-a", ("background",), heartbeat_s=3600)
    again.start()
    again.stop()
    with store.transaction(write=True) as tx:
        [a] = nodes.all_nodes(tx)
        assert a.roles == ("background",) and a.started_at == 1_007_000
        assert nodes.forget_before(tx, 1_007_001) == 1


def test_one_sweeper_at_a_time(store: Database, tmp_path: Path) -> None:
    t = new_tenant(store)
    now = SystemClock().now_ms()
    meeting = add_meeting(store, t.app_id, "sweep")
    r = add_recording(
        store,
        t.app_id,
        meeting.id,
        status="RECORDING",
        invoked_time=now - 20_000,
        started_time=now - 10_000,
        max_seconds=1,
    )
    app = build_asgi_app(Settings(data_dir=tmp_path, sweep_interval_s=0), store)
    other = Database(store.url)
    try:
        with other.transaction(write=True) as tx:
            if store.dialect == "postgres":
                assert nodes.try_one_at_a_time(tx, nodes.SWEEP)
                assert app.sweep_once() == 0  # another node is sweeping
                with store.transaction() as read:
                    found = live.get(read, t.app_id, r.id)
                    assert found is not None and found.status == "RECORDING"
        assert app.sweep_once() >= 1
        with store.transaction() as read:
            found = live.get(read, t.app_id, r.id)
            assert found is not None and found.status != "RECORDING"
    finally:
        other.close()
