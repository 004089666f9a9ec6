"""Webhooks across processes: two nodes on one store send each event once per attempt, not
once per node; ``reckit serve`` killed with SIGKILL between a status change and its delivery
delivers the event after a restart, a duplicate carrying the same rtk-uuid and bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest

from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.jobs import repository as jobs
from reckit.webhooks import events, service
from reckit.webhooks.models import KINDS
from tests.support.builders import add_meeting
from tests.support.flows import wait_for
from tests.support.live import Tenant, free_port, new_tenant, run_server
from tests.support.pg import own_database
from tests.support.serving import is_up, serve_process
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.slow  # two servers, or reckit serve killed and started again


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Iterator[Database]:
    with own_database(engine, tmp_path) as db:
        yield db


def _subscribe(db: Database, t: Tenant, url: str) -> str:
    body = {"name": "n", "url": url, "events": ["meeting.started"]}
    with db.transaction(write=True) as tx:
        made = service.create(tx, SystemClock().now_ms(), t.app_id, orjson.dumps(body), True)
    return str(made["id"])


def _jobs(db: Database, hook: str) -> list[jobs.Job]:
    with db.transaction() as tx:
        return jobs.for_subject(tx, hook, KINDS)


def test_two_nodes_on_one_store_send_each_attempt_once(store: Database, tmp_path: Path) -> None:
    t = new_tenant(store)
    n = 40
    with Receiver() as receiver:
        hook = _subscribe(store, t, receiver.url)
        # A second pool on the same store: the second node shares nothing in memory.
        other = Database(store.url)
        base = Settings(host="127.0.0.1", sweep_interval_s=0.1, webhook_allow_private=True)
        a = replace(base, port=free_port(), data_dir=tmp_path / "a")
        b = replace(base, port=free_port(), data_dir=tmp_path / "b")
        try:
            with run_server(store, a) as node_a, run_server(other, b) as node_b:
                assert node_a.app.background.webhooks.policy.node_id != (
                    node_b.app.background.webhooks.policy.node_id
                )
                now = SystemClock().now_ms()
                for i in range(n):
                    with store.transaction(write=True) as tx:
                        events.emit(
                            tx,
                            t.app_id,
                            "meeting.started",
                            {"event": "meeting.started", "n": i},
                            f"s{i}",
                            now,
                        )
                wait_for(
                    lambda: all(j.status == jobs.DONE for j in _jobs(store, hook)),
                    "every delivery done",
                    timeout=60,
                )
                time.sleep(0.5)  # both nodes keep polling: nothing more may arrive
                got = receiver.wait_for(n)
        finally:
            other.close()
    assert len(got) == n
    assert len({r.headers["rtk-uuid"] for r in got}) == n
    assert sorted(orjson.loads(r.body)["n"] for r in got) == list(range(n))
    assert all(j.attempts == 1 for j in _jobs(store, hook))


def _serve(data_dir: Path, port: int, database_url: str) -> subprocess.Popen[bytes]:
    env = {"RECKIT_BUILTIN_RECORDER": "0", "RECKIT_WEBHOOK_ALLOW_PRIVATE": "1"}
    return serve_process(data_dir, port, database_url, env)


def test_serve_killed_before_a_delivery_is_answered_delivers_it_after_restart(
    store: Database, tmp_path: Path
) -> None:
    t = new_tenant(store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    with Receiver() as receiver:
        receiver.answering.clear()  # the first delivery arrives and waits for its answer
        proc = _serve(data_dir, port, store.url)
        try:
            wait_for(lambda: is_up(url), "reckit to start")
            made = httpx.post(
                f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/webhooks",
                headers=t.auth,
                timeout=10,
                json={"name": "k", "url": receiver.url, "events": ["recording.statusUpdate"]},
            )
            assert made.status_code == 201, made.text
            hook = made.json()["data"]["id"]
            meetings = [add_meeting(store, t.app_id, f"m{i}").id for i in range(3)]
            for meeting_id in meetings:  # each start: an INVOKED event, in its transaction
                started = httpx.post(
                    f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings",
                    headers=t.auth,
                    timeout=10,
                    json={"meeting_id": meeting_id, "video_config": {"width": 160}},
                )
                assert started.status_code == 200, started.text
            receiver.wait_for(1)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        queued = _jobs(store, hook)
        assert len(queued) == 3 and all(j.status == jobs.PENDING for j in queued)
        assert any(j.lease_owner is not None for j in queued)  # one was under way
        receiver.answering.set()
        proc = _serve(data_dir, port, store.url)
        try:
            wait_for(lambda: is_up(url), "reckit to start again")
            wait_for(
                lambda: all(j.status == jobs.DONE for j in _jobs(store, hook)),
                "every delivery done",
                timeout=60,
            )
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        got = receiver.received
    expected = {str(j.payload["uuid"]): str(j.payload["body"]).encode() for j in queued}
    seen = {r.headers["rtk-uuid"] for r in got}
    assert seen == set(expected)  # none lost
    for r in got:  # a duplicate is the same event: same rtk-uuid, same bytes
        assert r.body == expected[r.headers["rtk-uuid"]]
    statuses = [orjson.loads(r.body)["recording"]["status"] for r in got]
    assert set(statuses) == {"INVOKED"}
