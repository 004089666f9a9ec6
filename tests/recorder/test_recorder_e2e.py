"""End to end with real media: the official SDK drives a live reckit, the reference recorder
captures the synthetic source with FFmpeg, and the file that comes back is probed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cloudflare import Cloudflare, NotFoundError

from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.recorder.client import RecorderClient
from reckit.recorder.probe import probe
from reckit.recordings import live_repository as live
from reckit.storage.registry import open_destination
from tests.support.flows import wait_for
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.pg import own_database
from tests.support.recorders import builtin_recorder
from tests.support.storage_servers_az_sftp import SshdServer

pytestmark = pytest.mark.slow  # real FFmpeg captures: 4-9 s a test


@pytest.fixture(scope="module")
def world(
    engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Tenant]]:
    data = tmp_path_factory.mktemp("e2e")
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data, sweep_interval_s=0.2)
    with (
        own_database(engine, data) as database,
        run_server(database, settings) as server,
        builtin_recorder(server, data / "capture", capacity=4, poll_interval_s=0.2),
    ):
        yield server, new_tenant(database)


def test_a_recording_end_to_end_with_real_media(
    world: tuple[LiveServer, Tenant], tmp_path: Path
) -> None:
    server, t = world
    with Cloudflare(
        api_token=t.token,
        base_url=server.api,
        max_retries=0,
        http_client=ValidatingClient(),
        _strict_response_validation=True,
    ) as cf:
        rk = cf.realtime_kit
        meeting = rk.meetings.create(t.app_id, account_id=t.account_id, title="e2e").data
        assert meeting is not None and meeting.id is not None
        rec = rk.recordings.start_recordings(
            t.app_id,
            account_id=t.account_id,
            meeting_id=meeting.id,
            video_config={"codec": "H264", "width": 320, "height": 240},
            audio_config={"codec": "AAC", "channel": "mono", "export_file": True},
        ).data
        assert rec is not None and rec.status == "INVOKED"

        def get() -> Any:
            return rk.recordings.get_one_recording(
                rec.id, account_id=t.account_id, app_id=t.app_id
            ).data

        wait_for(lambda: get().status == "RECORDING", "RECORDING")
        time.sleep(2.5)
        rk.recordings.pause_resume_stop_recording(
            rec.id, account_id=t.account_id, app_id=t.app_id, action="pause"
        )
        assert get().status == "PAUSED"
        time.sleep(2.0)
        rk.recordings.pause_resume_stop_recording(
            rec.id, account_id=t.account_id, app_id=t.app_id, action="resume"
        )
        time.sleep(2.5)
        stopped = rk.recordings.pause_resume_stop_recording(
            rec.id, account_id=t.account_id, app_id=t.app_id, action="stop"
        ).data
        assert stopped is not None and stopped.status == "UPLOADING"
        with pytest.raises(NotFoundError):
            rk.recordings.get_active_recordings(
                meeting.id, account_id=t.account_id, app_id=t.app_id
            )
        done = wait_for(lambda: (r := get()).status == "UPLOADED" and r, "UPLOADED")
        listed = rk.recordings.get_recordings(t.app_id, account_id=t.account_id).data
        assert [r.id for r in listed] == [rec.id] and listed[0].status == "UPLOADED"

    # The recorded time as reckit counts it: from capture start to stop, less the pause.
    with server.db.transaction() as tx:
        stored = live.get(tx, t.app_id, rec.id)
    assert stored is not None and stored.started_time and stored.stopped_time
    captured = (stored.stopped_time - stored.started_time - stored.paused_ms) / 1000
    assert stored.paused_ms >= 2000
    assert done.download_url is not None and done.audio_download_url is not None
    video, audio = tmp_path / done.output_file_name, tmp_path / "audio"
    with httpx.Client(timeout=30) as http:
        video.write_bytes(http.get(done.download_url).content)
        audio.write_bytes(http.get(done.audio_download_url).content)
    p = probe(video)
    assert p.video_codec == "h264" and (p.width, p.height) == (320, 240)
    assert abs(p.duration_s - captured) <= 1.0, (p.duration_s, captured)
    assert done.file_size == video.stat().st_size
    assert done.recording_duration == int(p.duration_s)
    a = probe(audio)
    assert a.audio_codec == "aac" and a.channels == 1 and a.video_codec is None


def test_a_track_recording_gives_one_audio_file_per_participant(
    world: tuple[LiveServer, Tenant], tmp_path: Path
) -> None:
    server, _ = world
    t = new_tenant(server.db)
    with server.db.transaction(write=True) as tx:
        token, _ = create_recorder_token(tx, SystemClock(), f"media-plane-{server.db.dialect}")
    media_plane = RecorderClient(server.url, token)
    with Cloudflare(
        api_token=t.token,
        base_url=server.api,
        max_retries=0,
        http_client=ValidatingClient(),
        _strict_response_validation=True,
    ) as cf:
        rk = cf.realtime_kit
        meeting = rk.meetings.create(t.app_id, account_id=t.account_id, title="tracks").data
        assert meeting is not None and meeting.id is not None
        # Participants without a media URL: the reference recorder gives each a tone.
        session = media_plane.session_started(t.app_id, meeting.id)
        media_plane.joined(session, "alice", "user-a")
        media_plane.joined(session, "bob", "user-b")
        started = rk.recordings.start_track_recording(
            t.app_id,
            account_id=t.account_id,
            meeting_id=meeting.id,
            layers={"default": {"file_name_prefix": "voices", "media_kind": "audio"}},
        ).data
        assert started is not None
        rid = started.recording.id

        def get() -> Any:
            return rk.recordings.get_one_recording(
                rid, account_id=t.account_id, app_id=t.app_id
            ).data

        wait_for(lambda: get().status == "RECORDING", "RECORDING")
        time.sleep(2.5)
        rk.recordings.pause_resume_stop_recording(
            rid, account_id=t.account_id, app_id=t.app_id, action="stop"
        )
        done = wait_for(lambda: (r := get()).status == "UPLOADED" and r, "UPLOADED")
    media_plane.close()
    with server.db.transaction() as tx:
        stored = live.get(tx, t.app_id, rid)
    assert stored is not None and stored.files is not None
    files = orjson.loads(stored.files)
    assert sorted(f["participant_id"] for f in files.values()) == ["alice", "bob"]
    assert all(name.startswith("voices_") and name.endswith(".webm") for name in files)
    first = tmp_path / "first.webm"
    with httpx.Client(timeout=30) as http:
        first.write_bytes(http.get(done.download_url).content)
    p = probe(first)
    assert p.video_codec is None and p.audio_codec == "opus"
    assert p.duration_s >= 1.5


def test_every_track_file_is_reachable_and_delivered(
    world: tuple[LiveServer, Tenant], sshd: SshdServer, tmp_path: Path
) -> None:
    """A track recording of two participants with custom storage (the older layer shape,
    ``outputs``): each participant's file has its own link, size and duration (``tracks``, on
    get-one and in the list), and both arrive at the destination byte-identical."""
    server, _ = world
    t = new_tenant(server.db)
    with server.db.transaction(write=True) as tx:
        token, _ = create_recorder_token(tx, SystemClock(), f"plane-tracks-{server.db.dialect}")
    media_plane = RecorderClient(server.url, token)
    storage = {
        "type": "sftp",
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "auth_method": "PASSWORD",
        "password": sshd.password,
        "path": str(sshd.root / "tracks"),
    }
    kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"
    with (
        ValidatingClient(headers=t.auth) as http,
        Cloudflare(
            api_token=t.token,
            base_url=server.api,
            max_retries=0,
            http_client=ValidatingClient(),
            _strict_response_validation=True,
        ) as cf,
    ):
        meeting = http.post(f"{kit}/meetings", json={"title": "two voices"}).json()["data"]
        session = media_plane.session_started(t.app_id, meeting["id"])
        media_plane.joined(session, "alice", "user-a")
        media_plane.joined(session, "bob", "user-b")
        layer = {
            "file_name_prefix": "pair",
            "media_kind": "audio",
            "outputs": [
                {"type": "REALTIMEKIT_BUCKET"},
                {"type": "STORAGE_CONFIG", "storage_config": storage},
            ],
        }
        r = http.post(
            f"{kit}/recordings/track",
            json={"meeting_id": meeting["id"], "layers": {"default": layer}},
        )
        assert r.status_code == 200, r.text
        rid = r.json()["data"]["recording"]["id"]

        def get() -> Any:
            return cf.realtime_kit.recordings.get_one_recording(
                rid, account_id=t.account_id, app_id=t.app_id
            ).data

        wait_for(lambda: get().status == "RECORDING", "RECORDING")
        time.sleep(2.5)
        http.put(f"{kit}/recordings/{rid}", json={"action": "stop"}).raise_for_status()
        # The SDK parses the extended object; the extension is there for those who look.
        done = wait_for(lambda: (r := get()).status == "UPLOADED" and r, "UPLOADED")
        one = http.get(f"{kit}/recordings/{rid}").json()["data"]
        listed = http.get(f"{kit}/recordings").json()["data"]
    media_plane.close()
    tracks = sorted(one["tracks"], key=lambda track: track["participant_id"])
    assert [(x["participant_id"], x["user_id"]) for x in tracks] == [
        ("alice", "user-a"),
        ("bob", "user-b"),
    ]
    assert [item["tracks"] for item in listed if item["id"] == rid] == [one["tracks"]]
    # The documented fields describe the first file.
    assert done.download_url == one["tracks"][0]["download_url"]
    assert done.file_size == one["tracks"][0]["file_size"]
    dest = open_destination(storage)
    try:
        for track in tracks:
            assert track["output_file_name"].startswith("pair_")
            body = httpx.get(track["download_url"], timeout=30).content
            assert len(body) == track["file_size"] > 0
            mine = tmp_path / track["output_file_name"]
            mine.write_bytes(body)
            p = probe(mine)
            assert p.audio_codec == "opus" and p.video_codec is None
            assert track["recording_duration"] == int(p.duration_s) >= 1
            delivered = tmp_path / f"delivered-{track['output_file_name']}"
            dest.get(track["output_file_name"], delivered)
            assert delivered.read_bytes() == body
    finally:
        dest.close()
    first, second = (x["download_url"] for x in tracks)
    assert first != second
