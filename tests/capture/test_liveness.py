"""Liveness that tells the server's trouble from the recorder's (capture/liveness.py): a
recorder's silence counts only while the server could have heard it; a recording no recorder
claims ends ERRORED after the claim timeout and frees its meeting; a recording whose files are
in is the server's, whatever its recorder does next. Time is a ManualClock; the timers run
when the test calls ``sweep_once``."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reckit.capture.liveness import MAX_SPANS, Stalls
from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import STALL_MS, Database
from reckit.db.schema import migrate
from tests.support.builders import NOW, add_meeting
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

TIMEOUT_MS = 30_000
CLAIM_MS = 120_000


def test_stalls_merge_and_are_left_out_of_healthy_time() -> None:
    stalls = Stalls(started_ms=1_000)
    stalls.add(5_000, 6_000)
    stalls.add(5_500, 7_000)  # overlaps: one span 5-7 s
    stalls.add(7_000, 8_000)  # touches: one span 5-8 s
    stalls.add(20_000, 20_000)  # empty: nothing
    assert stalls.healthy_ms(0, 10_000) == 10_000 - 1_000 - 3_000
    assert stalls.healthy_ms(6_000, 7_500) == 0
    assert stalls.healthy_ms(8_000, 18_000) == 10_000
    assert stalls.healthy_ms(9_000, 9_000) == 0
    for i in range(MAX_SPANS * 2):  # bounded: the oldest spans go first
        stalls.add(100_000 + 10 * i, 100_000 + 10 * i + 5)
    # The newer half is remembered (5 ms of each 10 stalled), the older half is forgotten.
    assert stalls.healthy_ms(100_000, 100_000 + 20 * MAX_SPANS) == 15 * MAX_SPANS


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Iterator[Database]:
    # Its own store: the claim timeout fails whatever waits unclaimed in the whole store.
    with own_database(engine, tmp_path) as db:
        yield db


def _settings(tmp: Path) -> Settings:
    return Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp,
        recorder_timeout_s=TIMEOUT_MS / 1000,
        claim_timeout_s=CLAIM_MS / 1000,
    )


@pytest.fixture
def server(store: Database, clock: ManualClock, tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(store, _settings(tmp_path / "data"), clock) as live_server:
        yield live_server


def _kit(server: LiveServer, t: Tenant) -> str:
    return f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"


def _start(server: LiveServer, t: Tenant, meeting_id: str) -> httpx.Response:
    with ValidatingClient() as http:
        return http.post(_kit(server, t), json={"meeting_id": meeting_id}, headers=t.auth)


def _get(server: LiveServer, t: Tenant, rid: str) -> dict[str, Any]:
    with ValidatingClient() as http:
        r = http.get(f"{_kit(server, t)}/{rid}", headers=t.auth)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _recording(
    server: LiveServer, store: Database, clock: ManualClock, name: str
) -> tuple[Tenant, str, Scripted]:
    t = new_tenant(store)
    meeting = add_meeting(store, t.app_id, name)
    r = _start(server, t, meeting.id)
    assert r.status_code == 200, r.text
    rid = str(r.json()["data"]["id"])
    recorder = Scripted.connect(server.url, store, clock, name)
    recorder.claim(rid)
    recorder.started(rid)
    return t, rid, recorder


def test_the_servers_stall_does_not_count_against_the_recorder(
    server: LiveServer, store: Database, clock: ManualClock
) -> None:
    t, rid, recorder = _recording(server, store, clock, "stall")
    # 40 s without a heartbeat, 20 s of which the server could not write (a busy store).
    clock.advance(10_000)
    server.app.ctx.stalls.add(clock.now_ms(), clock.now_ms() + 20_000)
    clock.advance(30_000)
    server.app.sweep_once()
    assert _get(server, t, rid)["status"] == "RECORDING"
    # Heard from for none of the next 10 s: 30 s of silence the server could have heard.
    clock.advance(10_000)
    server.app.sweep_once()
    data = _get(server, t, rid)
    assert data["status"] == "ERRORED"
    assert "stopped responding" in data["error_reason"]
    recorder.close()


def test_a_restarted_server_gives_recorders_the_whole_timeout_again(
    store: Database, clock: ManualClock, tmp_path: Path
) -> None:
    with run_server(store, _settings(tmp_path / "one"), clock) as first:
        t, rid, recorder = _recording(first, store, clock, "restart")
        recorder.close()
    clock.advance(10 * 60_000)  # the server was down ten minutes
    with run_server(store, _settings(tmp_path / "two"), clock) as second:
        second.app.sweep_once()
        assert _get(second, t, rid)["status"] == "RECORDING"
        clock.advance(TIMEOUT_MS - 1)
        second.app.sweep_once()
        assert _get(second, t, rid)["status"] == "RECORDING"
        clock.advance(1)
        second.app.sweep_once()
        assert _get(second, t, rid)["status"] == "ERRORED"


def test_an_unclaimed_recording_ends_after_the_claim_timeout_and_frees_its_meeting(
    server: LiveServer, store: Database, clock: ManualClock
) -> None:
    t = new_tenant(store)
    meeting = add_meeting(store, t.app_id, "nobody claims it")
    r = _start(server, t, meeting.id)
    rid = r.json()["data"]["id"]
    refused = _start(server, t, meeting.id)
    assert refused.status_code == 400 and "active recording" in refused.text
    clock.advance(CLAIM_MS - 1)
    server.app.sweep_once()
    assert _get(server, t, rid)["status"] == "INVOKED"
    clock.advance(1)
    server.app.sweep_once()
    data = _get(server, t, rid)
    assert data["status"] == "ERRORED"
    assert data["stop_reason"] == {"reason": "INTERNAL_ERROR"}
    assert "no recorder claimed it within 120 s" in data["error_reason"]
    # The meeting is free again.
    again = _start(server, t, meeting.id)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["status"] == "INVOKED"


def test_a_claimed_recording_is_not_failed_by_the_claim_timeout(
    server: LiveServer, store: Database, clock: ManualClock
) -> None:
    t, rid, recorder = _recording(server, store, clock, "claimed")
    for _ in range(5):  # 150 s, heard from every 30 s
        clock.advance(TIMEOUT_MS - 1)
        recorder.beat()
        server.app.sweep_once()
    assert _get(server, t, rid)["status"] == "RECORDING"
    recorder.close()


def test_handed_in_files_belong_to_the_server(
    server: LiveServer, store: Database, clock: ManualClock, tmp_path: Path
) -> None:
    """After ``complete`` the recorder may forget the recording, restart or fall silent: none of
    it fails the recording, and its files can no longer be replaced (409)."""
    t = new_tenant(store)
    meeting = add_meeting(store, t.app_id, "handed in")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00" * 4096)
    recorder = Scripted.connect(server.url, store, clock, "hands-in")
    config = {
        "type": "sftp",
        "host": "127.0.0.1",
        "port": 9,
        "username": "u",
        "auth_method": "PASSWORD",
        "password": "pw-not-used",
        "path": "p",
    }
    # Custom storage, so the recording waits UPLOADING for a delivery that never runs here.
    rid = recorder.record(
        server.url, t, {"meeting_id": meeting.id, "storage_config": config}, {"video": video}
    )
    name = _get(server, t, rid)["output_file_name"]
    recorder.poll(4, [], instance="a-new-run")  # forgot it, restarted
    clock.advance(10 * TIMEOUT_MS)  # and silent ever since
    server.app.sweep_once()
    assert _get(server, t, rid)["status"] == "UPLOADING"
    with httpx.Client(base_url=f"{server.url}/recorder/v1", headers=recorder.http.headers) as http:
        replaced = http.put(f"/recordings/{rid}/files/{name}", content=b"other bytes")
        assert replaced.status_code == 409, replaced.text
        added = http.put(f"/recordings/{rid}/files/extra.mp4", content=b"more bytes")
        assert added.status_code == 409, added.text
    recorder.close()


def test_a_write_that_waits_for_the_store_is_a_stall(tmp_path: Path) -> None:
    path = tmp_path / "stall.sqlite3"
    db = Database(f"sqlite:///{path}", busy_timeout_ms=5_000)
    migrate(db)
    waited: list[int] = []
    db.stall_listeners.append(waited.append)
    try:
        with db.transaction(write=True):
            pass
        assert waited == []  # a write that got the store at once is no stall
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        threading.Timer(1.5, other.rollback).start()
        with db.transaction(write=True):
            pass
        other.close()
        assert len(waited) == 1 and waited[0] >= STALL_MS
    finally:
        db.close()
