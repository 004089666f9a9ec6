"""SQLite allows one writer at a time. A write that waits longer than the busy timeout for its
turn is refused with a retryable 503 (never a 500), and the reference recorder's client waits
it out. PostgreSQL locks rows, not the store; its limit is the pool of connections, and a
request that waits too long for one gets the same 503."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from reckit.clock import SystemClock
from reckit.db.engine import PG_POOL_SIZE, POOL_BUSY, Database
from reckit.db.schema import migrate
from tests.support.builders import add_meeting
from tests.support.flows import Scripted
from tests.support.live import ValidatingClient, new_tenant, run_server
from tests.support.pg import new_pg_database

pytestmark = pytest.mark.slow  # waits out SQLite's busy timeout: 4 s


def test_a_busy_store_answers_503_and_the_recorder_waits_it_out(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    db = Database(f"sqlite:///{path}", busy_timeout_ms=200)
    migrate(db)
    try:
        with run_server(db) as server, ValidatingClient() as http:
            t = new_tenant(db)
            kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"
            meeting = add_meeting(db, t.app_id, "busy")
            started = http.post(
                f"{kit}/recordings", json={"meeting_id": meeting.id}, headers=t.auth
            )
            assert started.status_code == 200, started.text
            rid = started.json()["data"]["id"]
            recorder = Scripted.connect(server.url, db, SystemClock(), "busy")
            recorder.claim(rid)

            # Another process holds the write lock past the busy timeout.
            other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            other.execute("BEGIN IMMEDIATE")
            r = http.post(f"{kit}/meetings", json={"title": "while busy"}, headers=t.auth)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "1"
            assert r.json()["success"] is False and r.json()["error"]["code"] == 503
            listed = http.get(f"{kit}/meetings", headers=t.auth).json()  # reads still work
            assert [m["title"] for m in listed["data"]] == ["busy"]

            # The lock is let go a moment later: the recorder's call succeeds on a retry.
            threading.Timer(1.5, other.rollback).start()
            assert recorder.started(rid)["status"] == "RECORDING"
            recorder.close()
            assert http.post(
                f"{kit}/meetings", json={"title": "after"}, headers=t.auth
            ).status_code in (200, 201)
            other.close()
    finally:
        db.close()


@pytest.mark.postgres
def test_every_pooled_connection_in_use_answers_503_not_500(tmp_path: Path) -> None:
    """PostgreSQL: while every pooled connection stays in use for longer than the wait, a
    request is refused with the same retryable 503, and served once one is free."""
    with new_pg_database() as url:
        db = Database(url, busy_timeout_ms=200)
        try:
            migrate(db)
            with run_server(db) as server, ValidatingClient() as http:
                t = new_tenant(db)
                kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"
                with contextlib.ExitStack() as held:
                    for _ in range(PG_POOL_SIZE):
                        held.enter_context(db.transaction())
                    r = http.get(f"{kit}/meetings", headers=t.auth)
                    assert r.status_code == 503, r.text
                    assert r.headers["retry-after"] == "1"
                    assert r.json()["error"]["message"] == POOL_BUSY
                r = http.post(f"{kit}/meetings", json={"title": "after"}, headers=t.auth)
                assert r.status_code in (200, 201), r.text
                listed = http.get(f"{kit}/meetings", headers=t.auth).json()
                assert [m["title"] for m in listed["data"]] == ["after"]
        finally:
            db.close()
