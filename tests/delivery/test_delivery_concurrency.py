"""The delivery runner (delivery/runner.py) against real servers: transfers run side by side,
so one destination that hangs never holds up another; a host gets at most its share of slots;
an attempt that runs past the attempt timeout counts as failed and its late result changes
nothing; and the leases a node held when it stopped are released when it starts again.

Each test has a store of its own (the runner claims whatever is due in the whole store). Time in
the store is a ManualClock (retries are due when a test says so); attempt timeouts are real
seconds. The tests assert on states, never on how long something took."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.delivery.repository import for_recording
from reckit.delivery.service import destination_host
from reckit.jobs import repository as jobs
from reckit.jobs.node import NODE_ID_FILE, load_node_id
from reckit.recordings import live_repository as live
from tests.support.builders import NOW, add_meeting
from tests.support.flows import Scripted, wait_for
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.netgate import Gate
from tests.support.pg import own_database
from tests.support.serving import is_up, serve_process
from tests.support.storage_servers import create_s3_bucket, s3_config
from tests.support.storage_servers_az_sftp import SshdServer

pytestmark = pytest.mark.slow  # real attempt timeouts, a reckit serve process: up to 10 s a test


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Iterator[Database]:
    with own_database(engine, tmp_path) as db:
        yield db


class Delivery:
    """A reckit server on its own store, a tenant, and a scripted recorder handing files in."""

    def __init__(self, server: LiveServer, clock: ManualClock, tenant: Tenant) -> None:
        self.server, self.clock, self.tenant = server, clock, tenant
        self.recorder = Scripted.connect(server.url, server.db, clock, "concurrency")

    def record(self, storage: dict[str, Any], video: Path) -> str:
        meeting = add_meeting(self.server.db, self.tenant.app_id, "concurrency")
        body = {"meeting_id": meeting.id, "storage_config": storage}
        rid = self.recorder.record(self.server.url, self.tenant, body, {"video": video})
        self.clock.advance(1)  # the next recording's jobs are due after this one's
        return rid

    def status(self, rid: str) -> str:
        with self.server.db.transaction() as tx:
            rec = live.get_by_id(tx, rid)
        assert rec is not None
        return str(rec.status)

    def job(self, rid: str) -> jobs.Job:
        with self.server.db.transaction() as tx:
            (job,) = for_recording(tx, rid)
        return job


@contextlib.contextmanager
def delivery(store: Database, tmp_path: Path, **settings: Any) -> Iterator[Delivery]:
    clock = ManualClock(NOW)
    base = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp_path / "data",
        delivery_attempts=3,
        delivery_backoff_s=5,
    )
    with run_server(store, replace(base, **settings), clock) as server:
        d = Delivery(server, clock, new_tenant(store))
        try:
            yield d
        finally:
            d.recorder.close()


def video(tmp_path: Path, name: str = "v.mp4", size: int = 300_000) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def sftp_storage(ssh: SshdServer, port: int, folder: str) -> dict[str, Any]:
    return {
        "type": "sftp",
        "host": ssh.host,
        "port": port,
        "username": ssh.username,
        "auth_method": "PASSWORD",
        "password": ssh.password,
        "path": str(ssh.root / f"{folder}-{os.urandom(4).hex()}"),
    }


def test_a_hanging_destination_does_not_hold_up_a_working_one(
    store: Database, tmp_path: Path, sshd: SshdServer, moto: str
) -> None:
    gate = Gate(sshd.port)
    gate.black_hole()  # accepts, never answers: the SFTP transfer hangs
    try:
        endpoints = {"aws": moto}
        with delivery(
            store, tmp_path, delivery_attempt_timeout_s=8, storage_endpoints=endpoints
        ) as d:
            file = video(tmp_path)
            # The hanging one is due first: run one after the other, it would go first.
            hanging = d.record(sftp_storage(sshd, gate.port, "hang"), file)
            working = d.record(s3_config(create_s3_bucket(moto)), file)
            started: list[int] = []
            one_round = threading.Thread(target=lambda: started.append(d.server.app.deliver_once()))
            one_round.start()
            try:
                wait_for(lambda: d.status(working) == "UPLOADED", "the working delivery")
                # ... while the other is still being attempted: leased, its attempt running.
                under_way = d.job(hanging)
                assert under_way.lease_token is not None and under_way.attempts == 1
                assert gate.accepted >= 1
            finally:
                one_round.join(60)
            assert started == [2]
            # One round, and the attempt timeout has passed: the hanging attempt counts as
            # failed (retryable, so pending again after the backoff); the recording waits.
            failed = d.job(hanging)
            assert failed.status == jobs.PENDING and failed.attempts == 1
            assert failed.lease_token is None and failed.lease_until is None
            assert failed.last_error and "delivery to sftp" in failed.last_error
            assert d.status(hanging) == "UPLOADING"
            assert d.job(working).status == jobs.DONE
            assert d.server.app.deliver_once() == 0  # not due again before the backoff
    finally:
        gate.close()


def test_a_host_gets_at_most_its_share_of_slots(
    store: Database, tmp_path: Path, sshd: SshdServer, moto: str
) -> None:
    gate = Gate(sshd.port)
    gate.black_hole()
    try:
        with delivery(
            store,
            tmp_path,
            delivery_per_host=1,
            delivery_attempt_timeout_s=30,
            storage_endpoints={"aws": moto},
        ) as d:
            file = video(tmp_path)
            storage = sftp_storage(sshd, gate.port, "bound")
            first, second = d.record(storage, file), d.record(storage, file)
            other = d.record(s3_config(create_s3_bucket(moto)), file)
            runner = d.server.app.delivery
            # One round: one transfer to the hanging host (per host 1), and the other host's.
            assert runner.poll() == 2
            leased = {rid: d.job(rid) for rid in (first, second)}
            assert leased[first].lease_token is not None and leased[first].attempts == 1
            assert leased[second].lease_token is None and leased[second].attempts == 0
            wait_for(lambda: d.status(other) == "UPLOADED", "the other host's delivery")
            wait_for(lambda: runner.busy() == 1, "the other host's attempt to end")
            # The host is still at its bound: its second job stays pending, untouched.
            assert runner.poll() == 0
            assert d.job(second).lease_token is None and d.job(second).attempts == 0
            # A graceful stop gives the lease of the transfer under way back, its attempt
            # not counted, for this node once restarted or another.
            assert runner.stop(grace_s=0) == 1
            back = d.job(first)
            assert back.lease_token is None and back.lease_owner is None
            assert back.attempts == 0 and back.status == jobs.PENDING
    finally:
        gate.close()


def test_per_host_one_delivers_a_recordings_files_one_round_each(
    store: Database, tmp_path: Path, sshd: SshdServer
) -> None:
    with delivery(store, tmp_path, delivery_per_host=1) as d:
        storage = sftp_storage(sshd, sshd.port, "two-files")
        meeting = add_meeting(store, d.tenant.app_id, "two files")
        files = {"video": video(tmp_path), "audio": video(tmp_path, "a.m4a", 50_000)}
        body = {"meeting_id": meeting.id, "storage_config": storage}
        rid = d.recorder.record(d.server.url, d.tenant, body, files)
        assert d.server.app.deliver_once() == 1
        with store.transaction() as tx:
            states = sorted((j.status, j.attempts) for j in for_recording(tx, rid))
        assert states == [(jobs.DONE, 1), (jobs.PENDING, 0)]
        assert d.status(rid) == "UPLOADING"
        assert d.server.app.deliver_once() == 1
        assert d.status(rid) == "UPLOADED"


class SlowForward:
    """A port that forwards to ``target_port``, holding every chunk back ``delay`` seconds in
    each direction: each step of a protocol answers well within its timeout, and a whole
    session of many round trips takes long."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._target = target_port
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._conns += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if self.delay:
                    time.sleep(self.delay)
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


def test_a_late_attempt_does_not_change_the_jobs_state(
    store: Database, tmp_path: Path, sshd: SshdServer
) -> None:
    # 0.25 s each way: the SSH handshake and every SFTP request answer well within the 4-s
    # timeout, but the twenty-odd round trips of a whole upload take longer than 4 s.
    slow = SlowForward(sshd.port, 0.25)
    try:
        with delivery(store, tmp_path, delivery_attempt_timeout_s=4) as d:
            file = video(tmp_path, size=100_000)
            storage = sftp_storage(sshd, slow.port, "late")
            rid = d.record(storage, file)
            runner = d.server.app.delivery
            assert d.server.app.deliver_once() == 1
            timed_out = d.job(rid)
            assert timed_out.status == jobs.PENDING and timed_out.attempts == 1
            assert "did not finish within 4 s" in (timed_out.last_error or "")
            assert timed_out.lease_token is None
            # The abandoned attempt carries on and succeeds: the file lands...
            wait_for(lambda: runner.busy() == 0, "the late attempt to end")
            recording = d.status(rid)
            with store.transaction() as tx:
                rec = live.get_by_id(tx, rid)
            assert rec is not None
            landed = Path(storage["path"]) / rec.output_file_name
            assert landed.read_bytes() == file.read_bytes()
            # ... and its result is stale: the job is as the timeout left it.
            assert d.job(rid) == timed_out
            assert recording == "UPLOADING"
            # Due again after the backoff (and the destination fast again): one more attempt,
            # done once.
            slow.delay = 0
            d.clock.advance(5_000)
            assert d.server.app.deliver_once() == 1
            done = d.job(rid)
            assert done.status == jobs.DONE and done.attempts == 2 and done.last_error is None
            assert d.status(rid) == "UPLOADED"
    finally:
        slow.close()


# -- leases ------------------------------------------------------------------------------------


def _add_jobs(db: Database, n: int, host: str = "sftp example:22") -> list[str]:
    with db.transaction(write=True) as tx:
        return [
            jobs.add(tx, "deliver", f"rec-{i}", {"name": f"f{i}"}, NOW, host=host) for i in range(n)
        ]


def test_a_node_releases_its_own_leases_and_keeps_the_others(store: Database) -> None:
    mine = _add_jobs(store, 2)
    theirs = _add_jobs(store, 1, host="sftp elsewhere:22")
    with store.transaction(write=True) as tx:
        held = jobs.claim_due(tx, NOW, 900_000, 5, owner="node-a", skip_hosts={"sftp elsewhere:22"})
        assert sorted(j.id for j in held) == sorted(mine)
        (other,) = jobs.claim_due(tx, NOW, 900_000, 5, owner="node-b")
        assert other.id == theirs[0]
    with store.transaction(write=True) as tx:
        assert jobs.release_owned(tx, "node-a", NOW + 1) == 2
    with store.transaction() as tx:
        after = {j: jobs.get(tx, j) for j in [*mine, *theirs]}
    for job_id in mine:
        job = after[job_id]
        assert job is not None and job.status == jobs.PENDING
        assert (job.lease_until, job.lease_owner, job.lease_token) == (None, None, None)
        assert job.attempts == 1  # the attempt cut off by the restart stays counted
    kept = after[theirs[0]]
    assert kept is not None and kept.lease_owner == "node-b"
    assert kept.lease_token == other.lease_token and kept.lease_until == NOW + 900_000
    # Released, they are due at once (the other node's still is not), under new tokens; the
    # old attempts' results no longer count.
    with store.transaction(write=True) as tx:
        again = jobs.claim_due(tx, NOW + 2, 900_000, 5, owner="node-a")
        assert sorted(j.id for j in again) == sorted(mine)
        stale = next(j for j in held if j.id == again[0].id)
        assert not jobs.succeed(tx, stale.id, NOW + 3, stale.lease_token)
        assert not jobs.retry_at(tx, stale.id, NOW + 9, "late", NOW + 3, stale.lease_token)
        assert not jobs.fail(tx, stale.id, "late", NOW + 3, stale.lease_token)
        assert jobs.succeed(tx, again[0].id, NOW + 3, again[0].lease_token)
    with store.transaction() as tx:
        first = jobs.get(tx, again[0].id)
        second = jobs.get(tx, again[1].id)
    assert first is not None and first.status == jobs.DONE and first.attempts == 2
    assert second is not None and second.status == jobs.PENDING and second.last_error is None


def test_the_node_id_is_made_once_and_kept(tmp_path: Path) -> None:
    first = load_node_id(tmp_path / "d")
    assert first and load_node_id(tmp_path / "d") == first
    assert (tmp_path / "d" / NODE_ID_FILE).read_text().strip() == first
    assert load_node_id(tmp_path / "other") != first


def test_the_destination_host_comes_from_non_secret_fields() -> None:
    sftp = {"type": "sftp", "host": "files.example", "port": 2222, "password": "hunter2-pw"}
    assert destination_host(sftp) == "sftp files.example:2222"
    assert destination_host({"type": "aws", "bucket": "b1", "secret": "s3cret-key"}) == "aws b1"
    spaces = {"type": "digitalocean", "bucket": "b", "region": "SGP1"}
    assert destination_host(spaces) == "digitalocean sgp1/b"


def test_reckit_serve_releases_its_nodes_leases_at_start(store: Database, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    node = load_node_id(data_dir)  # what an earlier run of this node made
    later = NOW + 10 * 365 * 86_400_000  # not due: nothing claims them once released
    mine, theirs = _add_jobs(store, 2)
    with store.transaction(write=True) as tx:
        tx.run("UPDATE jobs SET next_at = ? WHERE id IN (?, ?)", (later, mine, theirs))
        for job_id, owner in ((mine, node), (theirs, "another-node")):
            tx.run(
                "UPDATE jobs SET lease_until = ?, lease_owner = ?, lease_token = ?,"
                " attempts = 1 WHERE id = ?",
                (later, owner, f"token-{owner}", job_id),
            )
    port = free_port()
    proc = serve_process(data_dir, port, store.url, {"RECKIT_BUILTIN_RECORDER": "0"})
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{port}"), "reckit to start")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    with store.transaction() as tx:
        released, kept = jobs.get(tx, mine), jobs.get(tx, theirs)
    assert released is not None and released.lease_owner is None
    assert released.lease_token is None and released.lease_until is None
    assert released.status == jobs.PENDING and released.attempts == 1
    assert kept is not None and kept.lease_owner == "another-node"
    assert kept.lease_token == "token-another-node" and kept.lease_until == later
    assert load_node_id(data_dir) == node
