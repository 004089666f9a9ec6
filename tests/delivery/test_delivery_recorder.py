"""Delivery to customers' storage through the real built-in recorder, end to end: the reference
recorder captures the synthetic source with FFmpeg, exactly as ``reckit serve`` runs it (a
recorder token named "builtin", polling the server over HTTP, work directory
``<data_dir>/capture``), hands its files in and forgets them; the server's own background loops
(system clock) deliver them to real servers on 127.0.0.1 (moto for AWS and DigitalOcean, the GCS
emulator, Azurite, OpenSSH's sshd).

Each engine gets stores of its own (the recorder claims whatever waits in the whole store), and
the servers are configured as a user would: one with many delivery attempts (a destination that
is down is waited for), one with two (a destination that stays down ends the recording ERRORED).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reckit.config import Settings
from reckit.delivery.repository import for_recording
from reckit.jobs import repository as jobs
from reckit.recorder.probe import probe
from reckit.recordings import live_repository as live
from reckit.recordings.models import StoredRecording
from reckit.storage.registry import open_destination
from tests.delivery.test_delivery import CASES, Servers, landed, sftp_config
from tests.support.flows import wait_for
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.netgate import Gate
from tests.support.pg import own_database
from tests.support.recorders import builtin_recorder
from tests.support.storage_servers_az_sftp import AzuriteServer, SshdServer, unavailable

pytestmark = pytest.mark.slow  # real FFmpeg captures delivered to the storage servers: 3-5 s a test

# Seconds of media per recording: enough for a real file, short enough for a quick module.
CAPTURE_S = 2.0
FINAL = ("UPLOADED", "ERRORED")


# -- the destinations ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(azurite: AzuriteServer, sshd: SshdServer, moto: str, gcs: str) -> Servers:
    return Servers(azurite, sshd, moto, gcs)


# -- reckit as `reckit serve` runs it -----------------------------------------------------------


@dataclass
class World:
    server: LiveServer
    capture_dir: Path


@contextlib.contextmanager
def serve(engine: str, data: Path, endpoints: dict[str, str], attempts: int) -> Iterator[World]:
    """A store of its own, reckit on it with its background loops on the system clock, and the
    built-in recorder set up as cli/serve.py's ``_builtin_recorder`` does it."""
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=data,
        sweep_interval_s=0.2,
        delivery_attempts=attempts,
        delivery_backoff_s=0.2,
        storage_endpoints=endpoints,
    )
    with own_database(engine, data) as db, run_server(db, settings) as server:
        capture = settings.data_dir / "capture"
        with builtin_recorder(server, capture, capacity=settings.recorder_capacity):
            yield World(server, capture)


@pytest.fixture(scope="module")
def world(
    engine: str, tmp_path_factory: pytest.TempPathFactory, endpoints: dict[str, str]
) -> Iterator[World]:
    """Delivery tried many times: a destination that is down is waited for."""
    with serve(engine, tmp_path_factory.mktemp(f"patient-{engine}"), endpoints, 30) as w:
        yield w


@pytest.fixture(scope="module")
def short_world(
    engine: str, tmp_path_factory: pytest.TempPathFactory, endpoints: dict[str, str]
) -> Iterator[World]:
    """RECKIT_DELIVERY_ATTEMPTS=2: a destination down for two attempts is given up on."""
    with serve(engine, tmp_path_factory.mktemp(f"short-{engine}"), endpoints, 2) as w:
        yield w


# -- a user's side of it: the public API --------------------------------------------------------


class User:
    def __init__(self, world: World) -> None:
        self.world = world
        self.tenant: Tenant = new_tenant(world.server.db)
        self.http = ValidatingClient(headers=self.tenant.auth)
        t = self.tenant
        self.kit = f"{world.server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"

    def close(self) -> None:
        self.http.close()

    def meeting(self, recording_config: dict[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"title": "delivered through the recorder"}
        if recording_config is not None:
            body["recording_config"] = recording_config
        r = self.http.post(f"{self.kit}/meetings", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["data"]["id"])

    def get(self, rid: str) -> dict[str, Any]:
        r = self.http.get(f"{self.kit}/recordings/{rid}")
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def record(self, meeting_id: str, audio: bool, **extra: Any) -> str:
        """Start a small recording, let the recorder capture ~CAPTURE_S of it, stop it; its
        ID. On return the recorder is finishing (or has finished) the files."""
        body = {
            "meeting_id": meeting_id,
            "video_config": {"codec": "H264", "width": 160, "height": 120},
            "audio_config": {"export_file": audio},
            **extra,
        }
        r = self.http.post(f"{self.kit}/recordings", json=body)
        assert r.status_code == 200, r.text
        rid = str(r.json()["data"]["id"])
        wait_for(lambda: self.get(rid)["status"] == "RECORDING", "RECORDING")
        # The recorder captures into its work directory (so "empty afterwards" means something).
        assert (self.world.capture_dir / rid).is_dir()
        time.sleep(CAPTURE_S)
        r = self.http.put(f"{self.kit}/recordings/{rid}", json={"action": "stop"})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["status"] == "UPLOADING"
        return rid

    def final(self, rid: str) -> dict[str, Any]:
        try:
            done: dict[str, Any] = wait_for(
                lambda: (r := self.get(rid))["status"] in FINAL and r, "a final status", 90
            )
        except AssertionError:
            rec, transfers = stored(self.world, rid)
            raise AssertionError(
                f"{rid} still {rec.status}: {rec.error_reason}, {transfers}"
            ) from None
        # The recorder keeps nothing of a recording once it is the server's.
        wait_for(lambda: not any(self.world.capture_dir.iterdir()), "an empty work dir")
        return done

    def download(self, url: str, to: Path) -> bytes:
        # A signed link to reckit's bucket copy: media, not an API answer (no OpenAPI check).
        r = httpx.get(url, timeout=30)
        assert r.status_code == 200, r.status_code
        to.write_bytes(r.content)
        return r.content


@pytest.fixture
def user(world: World) -> Iterator[User]:
    u = User(world)
    yield u
    u.close()


def stored(world: World, rid: str) -> tuple[StoredRecording, list[jobs.Job]]:
    with world.server.db.transaction() as tx:
        rec = live.get_by_id(tx, rid)
        transfers = for_recording(tx, rid)
    assert rec is not None
    return rec, transfers


def files_by_role(rec: StoredRecording) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, f in orjson.loads(rec.files or "{}").items():
        out.setdefault(f["role"], []).append(name)
    return out


def assert_real_video(path: Path) -> None:
    p = probe(path)
    assert p.video_codec == "h264" and (p.width, p.height) == (160, 120), p
    assert p.duration_s > 0, p


def assert_real_audio(path: Path) -> None:
    p = probe(path)
    assert p.audio_codec == "aac" and p.video_codec is None, p
    assert p.duration_s > 0, p


# -- 1. every destination -----------------------------------------------------------------------

# Whether the start call asks for the separate audio file (export_file true) or declines it.
AUDIO = {
    "aws": True,
    "digitalocean": False,
    "gcs": True,
    "azure": False,
    "sftp-password": True,
    "sftp-key": False,
    "meeting-level": True,
}


@pytest.mark.parametrize("case", list(AUDIO))
def test_a_recording_is_delivered_byte_identical(
    case: str,
    world: World,
    user: User,
    servers: Servers,
    endpoints: dict[str, str],
    tmp_path: Path,
) -> None:
    if case == "sftp-password" and servers.sshd.password is None:
        unavailable("sshd password authentication needs the tests to run as root")
    audio = AUDIO[case]
    if case == "meeting-level":
        # The storage config comes from the meeting; the start call names none.
        config = CASES["sftp-key"](servers)
        meeting = user.meeting({"storage_config": config})
        rid = user.record(meeting, audio)
    else:
        config = CASES[case](servers)
        rid = user.record(user.meeting(), audio, storage_config=config)

    done = user.final(rid)
    rec, transfers = stored(world, rid)
    assert done["status"] == "UPLOADED", (rec.error_reason, transfers)
    assert done["storage_config"]["type"] == config["type"]
    roles = files_by_role(rec)
    assert len(transfers) == sum(len(names) for names in roles.values())
    assert all(j.status == jobs.DONE for j in transfers), transfers

    name = done["output_file_name"]
    assert roles["video"] == [name]
    ours = user.download(done["download_url"], tmp_path / name)
    assert len(ours) == done["file_size"]
    assert_real_video(tmp_path / name)
    assert landed(config, name, tmp_path, endpoints) == ours

    if audio:
        [audio_name] = roles["audio"]
        assert audio_name == Path(name).stem + ".m4a"
        ours_audio = user.download(done["audio_download_url"], tmp_path / audio_name)
        assert_real_audio(tmp_path / audio_name)
        assert landed(config, audio_name, tmp_path, endpoints) == ours_audio
    else:
        assert "audio" not in roles and done["audio_download_url"] is None
        dest = open_destination(config, endpoints)
        try:
            assert dest.stat(Path(name).stem + ".m4a") is None
            assert dest.stat(name) is not None  # the same destination does hold the video
        finally:
            dest.close()


# -- 2. a destination down for a while ----------------------------------------------------------


def test_a_destination_down_for_a_while_gets_the_recording_once_back(
    world: World, user: User, servers: Servers, tmp_path: Path
) -> None:
    sshd = servers.sshd
    if sshd.password is None:
        unavailable("sshd password authentication needs the tests to run as root")
    # Refused connections on the destination's address until the gate forwards to sshd.
    gate = Gate(sshd.port)
    try:
        config = sftp_config(sshd, "PASSWORD", port=gate.port)
        rid = user.record(user.meeting(), True, storage_config=config)

        def retried() -> list[jobs.Job] | None:
            _, transfers = stored(world, rid)
            ok = len(transfers) == 2 and all(j.attempts >= 2 and j.last_error for j in transfers)
            return transfers if ok else None

        pending = wait_for(retried, "two failed attempts of each transfer")
        assert all(j.status == jobs.PENDING for j in pending), pending
        assert all("could not connect" in (j.last_error or "") for j in pending), pending
        waiting = user.get(rid)
        assert waiting["status"] == "UPLOADING" and waiting["download_url"] is None
        # The files were handed in: the recorder has forgotten the recording while the server
        # still delivers it.
        wait_for(lambda: not any(world.capture_dir.iterdir()), "an empty work dir")

        gate.forward()
        done = user.final(rid)
    finally:
        gate.close()

    rec, transfers = stored(world, rid)
    assert done["status"] == "UPLOADED", (rec.error_reason, transfers)
    assert all(j.status == jobs.DONE and j.attempts >= 3 for j in transfers), transfers
    assert gate.accepted >= 2  # the transfers that succeeded went through the gate
    direct = {**config, "port": sshd.port}
    name = done["output_file_name"]
    ours = user.download(done["download_url"], tmp_path / name)
    assert_real_video(tmp_path / name)
    assert landed(direct, name, tmp_path) == ours
    [audio_name] = files_by_role(rec)["audio"]
    ours_audio = user.download(done["audio_download_url"], tmp_path / audio_name)
    assert_real_audio(tmp_path / audio_name)
    assert landed(direct, audio_name, tmp_path) == ours_audio


# -- 3. attempts exhausted ----------------------------------------------------------------------


def test_a_destination_that_stays_down_ends_the_recording_errored(
    short_world: World, servers: Servers, tmp_path: Path
) -> None:
    user = User(short_world)
    gate = Gate(servers.sshd.port)  # never opened: every connection is refused
    try:
        config = sftp_config(servers.sshd, "KEY", port=gate.port)
        rid = user.record(user.meeting(), True, storage_config=config)
        done = user.final(rid)
        rec, transfers = stored(short_world, rid)
        assert done["status"] == "ERRORED", (rec.error_reason, transfers)
        # The other transfer may still be under way when the first one's end ends the
        # recording; it ends too, and nothing is left pending.

        def settled() -> list[jobs.Job] | None:
            now = stored(short_world, rid)[1]
            return now if all(j.status != jobs.PENDING for j in now) else None

        transfers = wait_for(settled, "both transfers to end")
        assert len(transfers) == 2
        assert all(j.status == jobs.FAILED and j.attempts <= 2 for j in transfers), transfers
        # The transfer that used up its attempts ended the recording, with its reason (the
        # other may have found nothing left waiting for it).
        spent = [
            j for j in transfers if j.attempts == 2 and "could not connect" in (j.last_error or "")
        ]
        assert spent, transfers
        assert rec.error_reason is not None and "delivery to sftp" in rec.error_reason
        assert rec.error_reason in {j.last_error for j in spent}
        # The user stopped it: that stays the stop reason.
        assert done["stop_reason"] == {"reason": "API_CALL", "caller": {"type": "ORGANIZATION"}}
        # The GET-one says why (error_reason, a documented extension).
        assert done["error_reason"] == rec.error_reason

        # Nothing is lost: reckit's copy stays downloadable, and it is real media.
        assert done["download_url"] is not None and done["audio_download_url"] is not None
        name = done["output_file_name"]
        video = user.download(done["download_url"], tmp_path / name)
        assert len(video) == done["file_size"]
        assert_real_video(tmp_path / name)
        [audio_name] = files_by_role(rec)["audio"]
        user.download(done["audio_download_url"], tmp_path / audio_name)
        assert_real_audio(tmp_path / audio_name)
    finally:
        gate.close()
        user.close()
