"""The reference recorder never loses a capture to its own restart: a new run on the same work
dir adopts what the last one left (resumes it, or joins and uploads it, or deletes it, as the
server answers), keeps files until the server has them, and leaves nothing behind for good.

Real FFmpeg, a real reckit server, and the recorder as a subprocess killed with SIGKILL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.recorder.client import RecorderClient
from reckit.recorder.media import CompositeCapture, TrackCapture
from reckit.recorder.probe import ProbeError, probe
from reckit.recorder.specs import AudioSpec, MediaError, Source, VideoSpec
from reckit.recorder.worker import ITEM_FILE, LOST, ReferenceRecorder, WorkDirBusy
from reckit.recordings import live_repository as live
from tests.support.builders import add_meeting
from tests.support.flows import wait_for
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.netgate import Gate
from tests.support.pg import own_database

pytestmark = pytest.mark.slow  # real FFmpeg, the recorder killed and restarted: up to 7 s a test

SMALL = VideoSpec(width=160, height=120)


def _duration(path: Path) -> float:
    try:
        return probe(path).duration_s
    except ProbeError:
        return 0.0


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ffmpeg_writing_into(work: Path) -> list[int]:
    """FFmpeg processes (anyone's children) whose command line names the work dir."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ffmpeg" in cmdline and str(work).encode() in cmdline:
            found.append(int(entry))
    return found


# --- the captures themselves ----------------------------------------------------------------


def test_a_capture_over_segments_on_disk_numbers_on_and_joins_them_all(tmp_path: Path) -> None:
    first = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    first.start()
    parts = tmp_path / ".rec.parts"
    one = parts / "composite-001.mkv"
    wait_for(lambda: _duration(one) >= 2.0, "a first stretch")
    first.abort()  # SIGKILL, as the kernel does to FFmpeg when the recorder dies
    d1 = _duration(one)
    before = _digest(one)

    # The next run: a new capture over the same directory starts out paused after segment 1.
    second = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    assert second.recovered and second.usable()
    second.resume()
    two = parts / "composite-002.mkv"
    wait_for(lambda: _duration(two) >= 2.0, "a second stretch")
    second.pause()
    d2 = _duration(two)
    assert sorted(p.name for p in parts.glob("*.mkv")) == ["composite-001.mkv", "composite-002.mkv"]
    assert _digest(one) == before  # numbered on, not written over

    # A third run that only stops (the recording was stopped while the recorder was down).
    third = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    out = third.stop(keep_segments=True)
    assert out.video is not None and out.audio is not None
    video = probe(out.video)
    assert (video.video_codec, video.audio_codec) == ("h264", "aac")
    assert video.duration_s == pytest.approx(d1 + d2, abs=0.5), (video.duration_s, d1, d2)
    assert probe(out.audio).duration_s == pytest.approx(d1 + d2, abs=0.5)
    assert one.is_file() and two.is_file()  # kept: the worker deletes them with the directory

    # Without keep_segments, as before: only the final files remain.
    assert CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec").stop().video == out.video
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.m4a", "rec.mp4"]


def test_tracks_carry_on_per_source(tmp_path: Path) -> None:
    sources = {"alice": Source(), "bob": Source()}
    first = TrackCapture(sources, tmp_path, lambda pid: f"voices_{pid}")
    first.start()
    parts = tmp_path / ".voices_alice.tracks"
    wait_for(lambda: _duration(parts / "track1-001.mkv") >= 1.5, "a first stretch")
    first.abort()
    d1 = {key: _duration(parts / f"track{i}-001.mkv") for i, key in enumerate(sources)}

    second = TrackCapture(sources, tmp_path, lambda pid: f"voices_{pid}")
    second.resume()
    wait_for(lambda: _duration(parts / "track1-002.mkv") >= 1.5, "a second stretch")
    second.pause()
    d2 = {key: _duration(parts / f"track{i}-002.mkv") for i, key in enumerate(sources)}
    outputs = second.stop()
    for key in sources:
        audio = outputs[key].audio
        assert audio is not None and audio.name == f"voices_{key}.webm"
        assert probe(audio).audio_codec == "opus"
        assert outputs[key].duration_s == pytest.approx(d1[key] + d2[key], abs=0.5)


def test_segments_without_media_are_not_usable(tmp_path: Path) -> None:
    parts = tmp_path / ".rec.parts"
    parts.mkdir()
    (parts / "composite-001.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not really matroska")
    capture = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    assert capture.recovered and not capture.usable()
    with pytest.raises(MediaError, match="nothing was captured"):
        capture.stop()


# --- through a real server ------------------------------------------------------------------


def _kit(url: str, t: Tenant) -> str:
    return f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"


def _get(url: str, t: Tenant, rid: str) -> dict[str, Any]:
    r = httpx.get(f"{_kit(url, t)}/{rid}", headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _status(url: str, t: Tenant, rid: str) -> str:
    return str(_get(url, t, rid)["status"])


def _start(
    url: str, t: Tenant, db: Database, storage: dict[str, Any] | None = None
) -> dict[str, Any]:
    meeting = add_meeting(db, t.app_id, "phoenix")
    body: dict[str, Any] = {"meeting_id": meeting.id, "video_config": {"width": 160, "height": 120}}
    if storage is not None:
        body["storage_config"] = storage
    r = httpx.post(_kit(url, t), json=body, headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _stop(url: str, t: Tenant, rid: str) -> None:
    r = httpx.put(f"{_kit(url, t)}/{rid}", json={"action": "stop"}, headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "UPLOADING"


def _error_reason(db: Database, t: Tenant, rid: str) -> str | None:
    with db.transaction() as tx:
        rec = live.get(tx, t.app_id, rid)
    assert rec is not None
    return rec.error_reason


@dataclass
class World:
    server: LiveServer
    tenant: Tenant
    token: str
    work: Path
    logs: Path
    last_log: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def db(self) -> Database:
        return self.server.db

    def recorder(self) -> subprocess.Popen[bytes]:
        """``reckit recorder`` on the work dir, as its own process (its log: ``last_log``)."""
        self.last_log = self.logs / f"recorder-{time.monotonic_ns()}.log"
        with open(self.last_log, "wb") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "reckit.cli",
                    "recorder",
                    "--server",
                    self.url,
                    "--token",
                    self.token,
                    "--work-dir",
                    str(self.work),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def polling(self) -> bool:
        """Whether the last recorder started says it polls (it holds the work dir by then)."""
        return self.last_log is not None and b"recorder polling" in self.last_log.read_bytes()

    def crash(self, proc: subprocess.Popen[bytes]) -> None:
        """kill -9, and wait until its FFmpeg children are dead too (PR_SET_PDEATHSIG)."""
        proc.kill()
        proc.wait(10)
        wait_for(lambda: not _ffmpeg_writing_into(self.work), "FFmpeg to die with the recorder")

    def stop_gracefully(self, proc: subprocess.Popen[bytes]) -> None:
        """Ctrl-C."""
        proc.send_signal(signal.SIGINT)
        proc.wait(30)

    def left_in_work_dir(self) -> list[str]:
        return sorted(p.name for p in self.work.iterdir()) if self.work.exists() else []


@pytest.fixture
def world(engine: str, tmp_path: Path) -> Iterator[World]:
    # No sweep: a recorder that is down for a while is not timed out meanwhile.
    settings = Settings(
        host="127.0.0.1", port=free_port(), data_dir=tmp_path / "server", sweep_interval_s=0
    )
    with own_database(engine, tmp_path) as db, run_server(db, settings) as server:
        with db.transaction(write=True) as tx:
            token, _ = create_recorder_token(tx, SystemClock(), "phoenix")
        logs = tmp_path / "logs"
        logs.mkdir()
        yield World(server, new_tenant(db), token, tmp_path / "capture", logs)


def _parts(w: World, rec: dict[str, Any]) -> Path:
    return w.work / str(rec["id"]) / f".{Path(rec['output_file_name']).stem}.parts"


def _download(w: World, rid: str, dest: Path) -> float:
    done = _get(w.url, w.tenant, rid)
    assert done["download_url"] is not None
    with httpx.Client(timeout=30) as http:
        r = http.get(done["download_url"])
    assert r.status_code == 200
    dest.write_bytes(r.content)
    p = probe(dest)
    assert (p.video_codec, p.audio_codec) == ("h264", "aac")
    assert done["file_size"] == dest.stat().st_size
    return p.duration_s


def test_a_recording_carries_on_through_a_recorder_crash(world: World, tmp_path: Path) -> None:
    w = world
    first = w.recorder()
    try:
        rec = _start(w.url, w.tenant, w.db)
        rid = rec["id"]
        wait_for(lambda: _status(w.url, w.tenant, rid) == "RECORDING", "RECORDING")
        one = _parts(w, rec) / "composite-001.mkv"
        wait_for(lambda: _duration(one) >= 2.0, "two seconds captured")
    finally:
        w.crash(first)
    d1 = _duration(one)
    saved = orjson.loads((w.work / rid / ITEM_FILE).read_bytes())
    assert saved["id"] == rid and saved["kind"] == "composite"

    began = time.monotonic()
    second = w.recorder()
    try:
        two = _parts(w, rec) / "composite-002.mkv"
        wait_for(lambda: _duration(two) >= 2.0, "the capture to carry on in a second segment")
        assert _status(w.url, w.tenant, rid) == "RECORDING"
        _stop(w.url, w.tenant, rid)
        ended = time.monotonic()
        wait_for(lambda: _status(w.url, w.tenant, rid) == "UPLOADED", "UPLOADED")
        wait_for(lambda: w.left_in_work_dir() == [], "the work dir to empty")
    finally:
        w.stop_gracefully(second)

    assert _error_reason(w.db, w.tenant, rid) is None
    duration = _download(w, rid, tmp_path / "joined.mp4")
    # Both stretches are in the file: the one before the crash, and the one after.
    assert duration >= d1 + 2.0 - 0.2, (duration, d1)
    assert duration <= d1 + (ended - began) + 0.5, (duration, d1, ended - began)


def test_a_recording_stopped_while_its_recorder_was_down_is_handed_in(
    world: World, tmp_path: Path
) -> None:
    w = world
    first = w.recorder()
    try:
        rec = _start(w.url, w.tenant, w.db)
        rid = rec["id"]
        wait_for(lambda: _status(w.url, w.tenant, rid) == "RECORDING", "RECORDING")
        one = _parts(w, rec) / "composite-001.mkv"
        wait_for(lambda: _duration(one) >= 2.0, "two seconds captured")
    finally:
        w.crash(first)
    d1 = _duration(one)
    _stop(w.url, w.tenant, rid)

    second = w.recorder()
    try:
        wait_for(lambda: _status(w.url, w.tenant, rid) == "UPLOADED", "UPLOADED")
        wait_for(lambda: w.left_in_work_dir() == [], "the work dir to empty")
    finally:
        w.stop_gracefully(second)
    assert _error_reason(w.db, w.tenant, rid) is None
    assert _download(w, rid, tmp_path / "joined.mp4") == pytest.approx(d1, abs=0.5)


def test_a_graceful_restart_carries_on_too(world: World, tmp_path: Path) -> None:
    """SIGTERM: the recorder ends its segment cleanly, keeps it, and the next run resumes."""
    w = world
    first = w.recorder()
    try:
        rec = _start(w.url, w.tenant, w.db)
        rid = rec["id"]
        wait_for(lambda: _status(w.url, w.tenant, rid) == "RECORDING", "RECORDING")
        one = _parts(w, rec) / "composite-001.mkv"
        wait_for(lambda: _duration(one) >= 1.5, "a first stretch")
    finally:
        w.stop_gracefully(first)
    assert first.returncode is not None and not _ffmpeg_writing_into(w.work)
    d1 = _duration(one)

    second = w.recorder()
    try:
        two = _parts(w, rec) / "composite-002.mkv"
        wait_for(lambda: _duration(two) >= 1.5, "a second stretch")
        _stop(w.url, w.tenant, rid)
        wait_for(lambda: _status(w.url, w.tenant, rid) == "UPLOADED", "UPLOADED")
        wait_for(lambda: w.left_in_work_dir() == [], "the work dir to empty")
    finally:
        w.stop_gracefully(second)
    assert _download(w, rid, tmp_path / "joined.mp4") >= d1 + 1.5 - 0.2


def _claim(client: RecorderClient, rid: str) -> dict[str, Any]:
    for item in client.poll(10, []):
        if item["id"] == rid:
            return item
    raise AssertionError(f"{rid} was not assigned")


def test_leftovers_are_cleared_at_start(world: World, tmp_path: Path) -> None:
    w = world
    # What an earlier run of "phoenix" left: an ERRORED recording's capture; the capture of a
    # recording whose files it handed in (UPLOADING while the server delivers them, which,
    # with the sweep off, it never does) just before it died; and the capture of a recording
    # still RECORDING whose only segment holds no media.
    earlier = RecorderClient(w.url, w.token)
    try:
        errored = _start(w.url, w.tenant, w.db)["id"]
        item = _claim(earlier, errored)
        earlier.started(errored)
        earlier.failed(errored, "the encoder fell over")
        nowhere = {
            "type": "sftp",
            "host": "127.0.0.1",
            "port": free_port(),
            "username": "u",
            "auth_method": "PASSWORD",
            "password": "p4ss-" + os.urandom(4).hex(),
            "path": "/upload",
        }
        handed_in = _start(w.url, w.tenant, w.db, nowhere)["id"]
        handed_item = _claim(earlier, handed_in)
        earlier.started(handed_in)
        _stop(w.url, w.tenant, handed_in)
        video = tmp_path / "video.mp4"
        video.write_bytes(os.urandom(4096))
        earlier.upload(handed_in, handed_item["output_file_name"], video)
        earlier.complete(handed_in, {handed_item["output_file_name"]: {"role": "video"}}, 2.0)
        lost = _start(w.url, w.tenant, w.db)["id"]
        lost_item = _claim(earlier, lost)
        earlier.started(lost)
    finally:
        earlier.close()
    assert _status(w.url, w.tenant, errored) == "ERRORED"
    assert _status(w.url, w.tenant, handed_in) == "UPLOADING"
    assert _status(w.url, w.tenant, lost) == "RECORDING"
    # Each with a segment that holds no media: a recorder that tried to join one would fail it.
    for rid, saved in ((errored, item), (handed_in, handed_item), (lost, lost_item)):
        parts = _parts(w, saved)
        parts.mkdir(parents=True)
        (w.work / rid / ITEM_FILE).write_bytes(orjson.dumps(saved))
        (parts / "composite-001.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(64))
    # And things that are no capture at all.
    (w.work / "no-item").mkdir()
    (w.work / "no-item" / "composite-001.mkv").write_bytes(b"x")
    half = w.work / "0b7c1a8e-3f55-4c1e-9d6b-2a4c3e5f6a7b"
    half.mkdir()
    (half / (ITEM_FILE + ".tmp")).write_bytes(b'{"id": "0b7c1a8e-')
    (w.work / "stray.txt").write_text("left here")
    assert len(w.left_in_work_dir()) == 6

    recorder = w.recorder()
    try:
        wait_for(lambda: w.left_in_work_dir() == [], "the work dir to empty")
        wait_for(lambda: _status(w.url, w.tenant, lost) == "ERRORED", "the lost one ERRORED")
    finally:
        w.stop_gracefully(recorder)
    assert _error_reason(w.db, w.tenant, lost) == LOST
    assert _error_reason(w.db, w.tenant, errored) == "the encoder fell over"
    # The server has those files: the recorder dropped its copy and left the recording alone.
    assert _status(w.url, w.tenant, handed_in) == "UPLOADING"
    assert _error_reason(w.db, w.tenant, handed_in) is None


class _GatedUploads(RecorderClient):
    """Polls and the rest go straight to the server; uploads go through a gate."""

    def __init__(self, url: str, gated: str, token: str) -> None:
        super().__init__(url, token)
        self.gated = RecorderClient(gated, token)
        self.refused = 0

    def upload(self, recording_id: str, name: str, path: Path) -> dict[str, Any]:
        try:
            return self.gated.upload(recording_id, name, path)
        except httpx.TransportError:
            self.refused += 1
            raise

    def close(self) -> None:
        self.gated.close()
        super().close()


def test_files_stay_until_the_server_has_them(world: World) -> None:
    w = world
    port = int(w.url.rsplit(":", 1)[1])
    gate = Gate(port)  # closed: connections are refused
    client = _GatedUploads(w.url, f"http://127.0.0.1:{gate.port}", w.token)
    recorder = ReferenceRecorder(client, w.work, capacity=2, poll_interval_s=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    try:
        rec = _start(w.url, w.tenant, w.db)
        rid = rec["id"]
        wait_for(lambda: _status(w.url, w.tenant, rid) == "RECORDING", "RECORDING")
        wait_for(lambda: _duration(_parts(w, rec) / "composite-001.mkv") >= 1.5, "capture")
        _stop(w.url, w.tenant, rid)
        # Refused, retried (each upload call retries three times itself), and refused again.
        wait_for(lambda: client.refused >= 2, "the upload to be retried", timeout=90)
        assert _status(w.url, w.tenant, rid) == "UPLOADING"
        joined = w.work / rid / rec["output_file_name"]
        assert joined.is_file() and _duration(joined) >= 1.5
        gate.forward()
        wait_for(lambda: _status(w.url, w.tenant, rid) == "UPLOADED", "UPLOADED", timeout=90)
        wait_for(lambda: w.left_in_work_dir() == [], "the work dir to empty")
    finally:
        stop.set()
        thread.join(30)
        client.close()
        gate.close()
    assert _error_reason(w.db, w.tenant, rid) is None


def test_one_work_dir_one_recorder(world: World) -> None:
    w = world
    first = w.recorder()
    client = RecorderClient(w.url, w.token)
    try:
        wait_for(w.polling, "the recorder to poll")
        with pytest.raises(WorkDirBusy):
            ReferenceRecorder(client, w.work).run(threading.Event())
    finally:
        client.close()
        w.stop_gracefully(first)
    # Once it is gone, the work dir is free again.
    again = w.recorder()
    try:
        wait_for(w.polling, "the second one to poll")
    finally:
        w.stop_gracefully(again)
    assert again.returncode == 0
