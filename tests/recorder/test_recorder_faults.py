"""Faults with real processes: the reference recorder killed mid-recording, and reckit itself
killed mid-recording and started again. Every recording must end in a true state."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.delivery.repository import for_recording
from reckit.jobs import repository as jobs
from reckit.recorder.probe import ProbeError, probe
from reckit.recordings import live_repository as live
from reckit.storage.registry import open_destination
from tests.support.builders import add_meeting
from tests.support.flows import Scripted, wait_for
from tests.support.live import Tenant, free_port, new_tenant, run_server
from tests.support.netgate import Gate
from tests.support.pg import own_database
from tests.support.serving import is_up, serve_process
from tests.support.storage_servers_az_sftp import sshd_server

pytestmark = pytest.mark.slow  # reckit serve and the recorder killed mid-recording: 3-8 s a test


def _kit(url: str, t: Tenant) -> str:
    return f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"


def _status(url: str, t: Tenant, rid: str) -> str:
    r = httpx.get(f"{_kit(url, t)}/{rid}", headers=t.auth, timeout=10)
    return str(r.json()["data"]["status"])


def _start(url: str, t: Tenant, meeting_id: str) -> str:
    body = {"meeting_id": meeting_id, "video_config": {"width": 160, "height": 120}}
    r = httpx.post(_kit(url, t), json=body, headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


@pytest.fixture
def store(engine: str, tmp_path: Path) -> Iterator[Database]:
    with own_database(engine, tmp_path) as db:
        yield db


def test_a_killed_recorder_ends_its_recording_errored(store: Database, tmp_path: Path) -> None:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=tmp_path,
        sweep_interval_s=0.2,
        recorder_timeout_s=2,
    )
    with run_server(store, settings) as server:
        t = new_tenant(store)
        with store.transaction(write=True) as tx:
            token, _ = create_recorder_token(tx, SystemClock(), "doomed")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reckit.cli",
                "recorder",
                "--server",
                server.url,
                "--token",
                token,
                "--work-dir",
                str(tmp_path / "capture"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            rid = _start(server.url, t, add_meeting(store, t.app_id, "fault").id)
            wait_for(lambda: _status(server.url, t, rid) == "RECORDING", "RECORDING")
        finally:
            proc.kill()
            proc.wait(10)
        wait_for(lambda: _status(server.url, t, rid) == "ERRORED", "ERRORED")
        with store.transaction() as tx:
            rec = live.get(tx, t.app_id, rid)
        assert rec is not None and "stopped responding" in (rec.error_reason or "")


def _serve(
    data_dir: Path, port: int, database_url: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return serve_process(
        data_dir, port, database_url, {"RECKIT_RECORDER_TIMEOUT": "30", **(extra or {})}
    )


def _start_to(url: str, t: Tenant, meeting_id: str, storage: dict[str, object]) -> str:
    body = {
        "meeting_id": meeting_id,
        "video_config": {"width": 160, "height": 120},
        "storage_config": storage,
    }
    r = httpx.post(_kit(url, t), json=body, headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def _captured_s(capture_dir: Path) -> float:
    """Seconds of media in the capture's segments on disk (none readable yet: 0)."""
    total = 0.0
    for segment in capture_dir.rglob("composite-*.mkv"):
        with contextlib.suppress(ProbeError):
            total += probe(segment).duration_s
    return total


def _wait_status(url: str, t: Tenant, rid: str, status: str, timeout: float = 60) -> None:
    wait_for(lambda: _status(url, t, rid) == status, f"{rid} {status}", timeout=timeout)


def _recording(url: str, t: Tenant, rid: str) -> dict[str, object]:
    r = httpx.get(f"{_kit(url, t)}/{rid}", headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()["data"]
    return data


def test_reckit_killed_while_capturing_and_delivering_loses_nothing(
    store: Database, tmp_path: Path
) -> None:
    """kill -9 of `reckit serve` (its built-in recorder and FFmpeg with it) while one recording
    is capturing and another is being delivered: after a restart, with the default lease, the
    capture is picked up where it was and the delivery is made again; both end UPLOADED,
    byte-identical at the destination, with nothing left in capture/ and no job leased."""
    t = new_tenant(store)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    with sshd_server() as ssh:
        gate = Gate(ssh.port)
        gate.black_hole()  # B's transfer starts and hangs there
        storage = {
            "type": "sftp",
            "host": "127.0.0.1",
            "port": gate.port,
            "username": ssh.username,
            "auth_method": "PASSWORD",
            "password": ssh.password,
            "path": str(ssh.root / "crash"),
        }
        proc = _serve(data_dir, port, store.url)
        try:
            wait_for(lambda: is_up(url), "reckit to start")
            capturing = _start_to(url, t, add_meeting(store, t.app_id, "capturing").id, storage)
            delivering = _start_to(url, t, add_meeting(store, t.app_id, "delivering").id, storage)
            for rid in (capturing, delivering):
                _wait_status(url, t, rid, "RECORDING")
            httpx.put(
                f"{_kit(url, t)}/{delivering}", json={"action": "stop"}, headers=t.auth, timeout=10
            ).raise_for_status()
            wait_for(lambda: gate.accepted, "the transfer to begin")
            # Killed sooner, FFmpeg may not have written a whole cluster (1 s) yet: nothing to
            # carry on from, and the restarted recorder rightly ends the capture ERRORED.
            capture_dir = data_dir / "capture" / capturing
            wait_for(lambda: _captured_s(capture_dir) >= 1.0, "a second captured on disk")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # reckit and everything it started
            proc.wait(10)
        with store.transaction() as tx:
            # The video and the audio file: both still to deliver.
            assert [j.status for j in for_recording(tx, delivering)] == [jobs.PENDING] * 2
        with store.transaction() as tx:
            before = {rid: live.get_by_id(tx, rid) for rid in (capturing, delivering)}
        assert {rid: r.status if r else None for rid, r in before.items()} == {
            capturing: "RECORDING",
            delivering: "UPLOADING",
        }
        assert any((data_dir / "capture").iterdir()), "the capture left nothing on disk"

        gate.forward()  # the destination answers again, at the same address
        proc = _serve(data_dir, port, store.url)
        try:
            wait_for(lambda: is_up(url), "reckit to start again")
            wait_for(lambda: _status(url, t, delivering) == "UPLOADED", "delivery", timeout=60)
            # The capture carries on under the restarted recorder.
            carried_on = _recording(url, t, capturing)
            assert carried_on["status"] == "RECORDING", carried_on.get("error_reason")
            httpx.put(
                f"{_kit(url, t)}/{capturing}", json={"action": "stop"}, headers=t.auth, timeout=10
            ).raise_for_status()
            wait_for(lambda: _status(url, t, capturing) == "UPLOADED", "UPLOADED", timeout=60)
            finals = {rid: _recording(url, t, rid) for rid in (capturing, delivering)}
            copies = {
                rid: httpx.get(str(rec["download_url"]), timeout=30).content
                for rid, rec in finals.items()
            }
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
            gate.close()
        assert list((data_dir / "capture").iterdir()) == []
        with store.transaction() as tx:
            left = [j for rid in finals for j in for_recording(tx, rid)]
        assert left and all(j.status == jobs.DONE for j in left), left
        dest = open_destination({**storage, "port": ssh.port})
        try:
            for rid, rec in finals.items():
                back = tmp_path / f"back-{rid}"
                dest.get(str(rec["output_file_name"]), back)
                assert back.read_bytes() == copies[rid], rid
                assert probe(back).duration_s > 0
        finally:
            dest.close()


def test_reckit_killed_mid_transfer_resumes_after_restart(store: Database, tmp_path: Path) -> None:
    t = new_tenant(store)
    meeting = add_meeting(store, t.app_id, "transfer")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    video = tmp_path / "v.mp4"
    video.write_bytes(os.urandom(500_000))
    env = {"RECKIT_JOB_LEASE": "3", "RECKIT_DELIVERY_BACKOFF": "1", "RECKIT_BUILTIN_RECORDER": "0"}
    with sshd_server() as ssh:
        gate = Gate(ssh.port)
        gate.black_hole()  # the transfer starts and hangs there
        config = {
            "type": "sftp",
            "host": "127.0.0.1",
            "port": gate.port,
            "username": ssh.username,
            "auth_method": "PASSWORD",
            "password": ssh.password,
            "path": str(ssh.root / "resumed"),
        }
        proc = _serve(tmp_path, port, store.url, env)
        try:
            wait_for(lambda: is_up(url), "reckit to start")
            recorder = Scripted.connect(url, store, SystemClock(), "transfer-test")
            rid = recorder.record(
                url, t, {"meeting_id": meeting.id, "storage_config": config}, {"video": video}
            )
            recorder.close()
            wait_for(lambda: gate.accepted, "the transfer to begin")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        with store.transaction() as tx:
            (job,) = for_recording(tx, rid)
            rec = live.get_by_id(tx, rid)
        # Killed while the transfer was under way: leased, one attempt, nothing lost.
        assert job.status == jobs.PENDING and job.attempts == 1
        assert rec is not None and rec.status == "UPLOADING"
        gate.forward()  # the destination answers again, at the same address
        proc = _serve(tmp_path, port, store.url, env)
        try:
            wait_for(lambda: is_up(url), "reckit to start again")
            wait_for(lambda: _status(url, t, rid) == "UPLOADED", "UPLOADED", timeout=30)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
            gate.close()
        dest = open_destination({**config, "port": ssh.port})
        try:
            back = tmp_path / "back"
            dest.get(rec.output_file_name, back)
        finally:
            dest.close()
        assert back.read_bytes() == video.read_bytes()
