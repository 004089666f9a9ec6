"""The recording lifecycle through the official SDK, with the test playing the recorder over the
recorder API (docs/recorder-api.md); time is a ManualClock, timers run by ``sweep_once``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudflare import BadRequestError, Cloudflare, NotFoundError

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.recordings import live_repository as live
from reckit.seeding import SeedPlan, seed
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

CLOCK = ManualClock(NOW)


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    settings = Settings(
        host="127.0.0.1",
        port=port,
        sweep_interval_s=0,
        data_dir=tmp_path_factory.mktemp("data"),
        recorder_timeout_s=30,
        empty_room_s=60,
    )
    with run_server(database, settings, CLOCK) as live_server:
        yield live_server


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return new_tenant(database)


@pytest.fixture
def cf(server: LiveServer, tenant: Tenant) -> Iterator[Cloudflare]:
    with Cloudflare(
        api_token=tenant.token,
        base_url=server.api,
        max_retries=0,
        http_client=ValidatingClient(),
        _strict_response_validation=True,
    ) as client:
        yield client


@pytest.fixture
def recorder(
    server: LiveServer, database: Database, request: pytest.FixtureRequest
) -> Iterator[Scripted]:
    client = Scripted.connect(server.url, database, CLOCK, f"test-{request.node.name}")
    yield client
    client.close()


def start(cf: Cloudflare, t: Tenant, meeting_id: str, **body: Any) -> Any:
    return cf.realtime_kit.recordings.start_recordings(
        t.app_id, account_id=t.account_id, meeting_id=meeting_id, **body
    ).data


def get(cf: Cloudflare, t: Tenant, rid: str) -> Any:
    return cf.realtime_kit.recordings.get_one_recording(
        rid, account_id=t.account_id, app_id=t.app_id
    ).data


def act(cf: Cloudflare, t: Tenant, rid: str, action: str) -> Any:
    return cf.realtime_kit.recordings.pause_resume_stop_recording(
        rid,
        account_id=t.account_id,
        app_id=t.app_id,
        action=action,  # type: ignore[arg-type]
    ).data


def claim(recorder: Scripted, rid: str) -> dict[str, Any]:
    return recorder.claim(rid)


def test_start_pause_resume_stop_upload(
    cf: Cloudflare, tenant: Tenant, recorder: Scripted, server: LiveServer, tmp_path: Path
) -> None:
    meeting = cf.realtime_kit.meetings.create(
        tenant.app_id, account_id=tenant.account_id, title="Lifecycle"
    ).data
    assert meeting is not None and meeting.id is not None
    invoked = CLOCK.now_ms()
    rec = start(
        cf, tenant, meeting.id, video_config={"codec": "VP9", "width": 320}, file_name_prefix="talk"
    )
    assert rec.status == "INVOKED" and rec.started_time is None
    assert rec.output_file_name == f"talk_{meeting.id}_{invoked}.webm"
    assert rec.start_reason.reason == "API_CALL"
    assert rec.stop_reason is None
    job = claim(recorder, rec.id)
    assert job["status"] == "INVOKED" and job["config"]["video"]["width"] == 320
    assert job["config"]["video"]["height"] == 720  # defaults fill what no layer set
    CLOCK.advance(2_000)
    recorder.started(rec.id)
    got = get(cf, tenant, rec.id)
    assert got.status == "RECORDING" and got.started_time is not None
    active = cf.realtime_kit.recordings.get_active_recordings(
        meeting.id, account_id=tenant.account_id, app_id=tenant.app_id
    ).data
    assert active.id == rec.id
    CLOCK.advance(10_000)
    assert act(cf, tenant, rec.id, "pause").status == "PAUSED"
    assert act(cf, tenant, rec.id, "pause").status == "PAUSED"  # a replay is harmless
    assert claim(recorder, rec.id)["status"] == "PAUSED"
    CLOCK.advance(5_000)
    assert act(cf, tenant, rec.id, "resume").status == "RECORDING"
    CLOCK.advance(3_000)
    stopped = act(cf, tenant, rec.id, "stop")
    assert stopped.status == "UPLOADING" and stopped.stopped_time is not None
    assert stopped.stop_reason.reason == "API_CALL"
    assert stopped.stop_reason.caller.type == "ORGANIZATION"
    assert act(cf, tenant, rec.id, "stop").status == "UPLOADING"
    with pytest.raises(NotFoundError):
        cf.realtime_kit.recordings.get_active_recordings(
            meeting.id, account_id=tenant.account_id, app_id=tenant.app_id
        )
    assert claim(recorder, rec.id)["status"] == "UPLOADING"
    media = tmp_path / "out.webm"
    media.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40)
    recorder.upload(rec.id, rec.output_file_name, media)
    recorder.complete(rec.id, {rec.output_file_name: {"role": "video"}}, 13.7)
    # The recorder may not have seen the answer: a replay changes nothing.
    recorder.complete(rec.id, {rec.output_file_name: {"role": "video"}}, 99.0)
    done = get(cf, tenant, rec.id)
    assert done.status == "UPLOADED"
    assert done.file_size == media.stat().st_size
    assert done.recording_duration == 13
    assert done.download_url is not None and done.download_url_expiry is not None
    with httpx.Client() as http:
        whole = http.get(done.download_url)
        assert whole.content == media.read_bytes()
        part = http.get(done.download_url, headers={"range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == media.read_bytes()[10:20]
    listed = cf.realtime_kit.recordings.get_recordings(
        tenant.app_id, account_id=tenant.account_id, meeting_id=meeting.id
    ).data
    assert [r.id for r in listed] == [rec.id] and listed[0].status == "UPLOADED"
    with server.db.transaction() as tx:
        stored = live.get(tx, tenant.app_id, rec.id)
    assert stored is not None and stored.paused_ms == 5_000


def raw(
    server: LiveServer, t: Tenant, method: str, path: str, body: Any = None, **headers: str
) -> httpx.Response:
    url = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings{path}"
    with ValidatingClient() as http:
        return http.request(method, url, json=body, headers={**t.auth, **headers})


def message(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    return str(r.json()["error"]["message"])


def test_illegal_transitions_and_stop_before_capture(
    server: LiveServer, tenant: Tenant, database: Database
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    rid = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]["id"]
    for action in ("pause", "resume"):
        assert f"cannot {action} a recording that is INVOKED" in message(
            raw(server, tenant, "PUT", f"/{rid}", {"action": action})
        )
    assert "action" in message(raw(server, tenant, "PUT", f"/{rid}", {"action": "rewind"}))
    assert "body" in message(raw(server, tenant, "PUT", f"/{rid}"))
    stopped = raw(server, tenant, "PUT", f"/{rid}", {"action": "stop"}).json()["data"]
    assert stopped["status"] == "ERRORED"
    for action in ("pause", "resume"):
        assert "ERRORED" in message(raw(server, tenant, "PUT", f"/{rid}", {"action": action}))
    assert raw(server, tenant, "PUT", f"/{rid}", {"action": "stop"}).status_code == 200
    missing = raw(
        server, tenant, "PUT", "/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, {"action": "stop"}
    )
    assert missing.status_code == 404
    assert '"recording_id" must be a valid GUID' in message(raw(server, tenant, "GET", "/nope"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, '"meeting_id" is required'),
        ({"meeting_id": "x"}, '"meeting_id" must be a valid GUID'),
        ({"max_seconds": 59}, '"max_seconds"'),
        ({"max_seconds": 86401}, '"max_seconds"'),
        ({"max_seconds": 60.5}, '"max_seconds"'),
        ({"video_config": {"width": 0}}, '"video_config.width"'),
        ({"video_config": {"height": 1921}}, '"video_config.height"'),
        ({"video_config": {"codec": "AV1"}}, '"video_config.codec"'),
        ({"audio_config": {"channel": "5.1"}}, '"audio_config.channel"'),
        ({"audio_config": {"codec": "OPUS"}}, '"audio_config.codec"'),
        ({"file_name_prefix": "a/b"}, '"file_name_prefix"'),
        ({"realtimekit_bucket_config": {}}, '"realtimekit_bucket_config.enabled" is required'),
        (
            {"storage_config": {"type": "aws", "bucket": "b", "region": "r"}},
            '"storage_config.access_key" is required',
        ),
        (
            {
                "storage_config": {
                    "type": "sftp",
                    "host": "h",
                    "port": 22,
                    "username": "u",
                    "auth_method": "KEY",
                }
            },
            '"storage_config.private_key" is required',
        ),
        ({"storage_config": {"type": "s3"}}, '"storage_config.type"'),
        ({"video_config": {"watermark": {"url": "not a url"}}}, '"video_config.watermark.url"'),
        ({"rtmp_out_config": {"rtmp_url": "nope"}}, '"rtmp_out_config.rtmp_url"'),
        ({"url": "ftp://example.com/page"}, '"url" must be an http:// or https:// URL'),
        (
            {"realtimekit_bucket_config": {"enabled": False}, "storage_config": None},
            "nowhere to go",
        ),
        ({"allow_multiple_recordings": "yes"}, '"allow_multiple_recordings"'),
    ],
)
def test_invalid_start_bodies_name_the_field(
    server: LiveServer, tenant: Tenant, database: Database, body: dict[str, Any], field: str
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    full = {"meeting_id": m.id, **body} if "meeting_id" not in body and body else body
    assert field in message(raw(server, tenant, "POST", "", full))


def test_unknown_and_inactive_meetings(
    server: LiveServer, tenant: Tenant, database: Database
) -> None:
    other = new_tenant(database)
    theirs = add_meeting(database, other.app_id, "theirs")
    assert raw(server, tenant, "POST", "", {"meeting_id": theirs.id}).status_code == 404
    m = add_meeting(database, tenant.app_id, "t")
    with ValidatingClient() as http:
        url = f"{server.api}/accounts/{tenant.account_id}/realtime/kit/{tenant.app_id}"
        r = http.patch(f"{url}/meetings/{m.id}", json={"status": "INACTIVE"}, headers=tenant.auth)
        assert r.status_code == 200, r.text
    assert "INACTIVE" in message(raw(server, tenant, "POST", "", {"meeting_id": m.id}))


def test_one_active_recording_unless_both_allow_multiple(
    server: LiveServer, tenant: Tenant, database: Database
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    first = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]
    assert "already has an active recording" in message(
        raw(server, tenant, "POST", "", {"meeting_id": m.id, "allow_multiple_recordings": True})
    )
    raw(server, tenant, "PUT", f"/{first['id']}", {"action": "stop"})
    body = {"meeting_id": m.id, "allow_multiple_recordings": True}
    a = raw(server, tenant, "POST", "", body).json()["data"]
    b = raw(server, tenant, "POST", "", body).json()["data"]
    assert a["id"] != b["id"]
    assert "already" in message(raw(server, tenant, "POST", "", {"meeting_id": m.id}))


def test_a_replayed_start_returns_the_same_recording(
    server: LiveServer, tenant: Tenant, database: Database
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    body = {"meeting_id": m.id, "max_seconds": 120}
    first = raw(server, tenant, "POST", "", body).json()["data"]
    again = raw(server, tenant, "POST", "", body, **{"x-stainless-retry-count": "1"})
    assert again.status_code == 200 and again.json()["data"]["id"] == first["id"]
    # Not a retry, or a different body: the one-active rule answers.
    assert "already" in message(raw(server, tenant, "POST", "", body))
    assert "already" in message(
        raw(
            server,
            tenant,
            "POST",
            "",
            {**body, "max_seconds": 90},
            **{"x-stainless-retry-count": "1"},
        )
    )


def test_max_seconds_stops_at_the_limit(
    server: LiveServer, tenant: Tenant, database: Database, recorder: Scripted
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    body = {"meeting_id": m.id, "max_seconds": 60}
    rid = raw(server, tenant, "POST", "", body).json()["data"]["id"]
    claim(recorder, rid)
    recorder.started(rid)
    raw(server, tenant, "PUT", f"/{rid}", {"action": "pause"})
    for _ in range(59):
        CLOCK.advance(1_000)
        recorder.beat()
    server.app.sweep_once()
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "PAUSED"
    CLOCK.advance(1_000)
    recorder.beat()
    server.app.sweep_once()
    data = raw(server, tenant, "GET", f"/{rid}").json()["data"]
    assert data["status"] == "UPLOADING"
    # decisions.md: wall-clock from started_time, pauses included; no reason value fits.
    assert data["stop_reason"] == {}
    assert claim(recorder, rid)["status"] == "UPLOADING"


def test_empty_room_stops_after_a_minute(
    server: LiveServer, tenant: Tenant, database: Database, recorder: Scripted
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    sid = recorder.session_started(tenant.app_id, m.id)
    recorder.joined(sid, "p1")
    rid = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]["id"]
    claim(recorder, rid)
    recorder.started(rid)
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["session_id"] == sid
    recorder.left(sid, "p1")
    CLOCK.advance(59_999)
    recorder.beat()
    server.app.sweep_once()
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "RECORDING"
    recorder.joined(sid, "p2")  # someone came back: the minute starts again when they leave
    recorder.left(sid, "p2")
    CLOCK.advance(59_999)
    recorder.beat()
    server.app.sweep_once()
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "RECORDING"
    CLOCK.advance(1)
    recorder.beat()
    server.app.sweep_once()
    data = raw(server, tenant, "GET", f"/{rid}").json()["data"]
    assert data["status"] == "UPLOADING"
    assert data["stop_reason"] == {"reason": "ALL_PEERS_LEFT"}


def test_a_silent_recorder_loses_its_recording(
    server: LiveServer, tenant: Tenant, database: Database, recorder: Scripted
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    rid = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]["id"]
    claim(recorder, rid)
    recorder.started(rid)
    CLOCK.advance(29_999)
    server.app.sweep_once()
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "RECORDING"
    CLOCK.advance(2)
    server.app.sweep_once()
    data = raw(server, tenant, "GET", f"/{rid}").json()["data"]
    assert data["status"] == "ERRORED" and data["stop_reason"] == {"reason": "INTERNAL_ERROR"}
    with database.transaction() as tx:
        stored = live.get(tx, tenant.app_id, rid)
    assert stored is not None and "stopped responding" in (stored.error_reason or "")


def test_a_restarted_recorder_gives_up_what_it_no_longer_holds(
    server: LiveServer, tenant: Tenant, database: Database, recorder: Scripted
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    rid = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]["id"]
    claim(recorder, rid)
    recorder.started(rid)
    recorder.poll(0, [])  # after a restart it holds nothing
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "ERRORED"


def test_record_on_start_and_track_recording(
    cf: Cloudflare, server: LiveServer, tenant: Tenant, recorder: Scripted
) -> None:
    meeting = cf.realtime_kit.meetings.create(
        tenant.app_id,
        account_id=tenant.account_id,
        title="auto",
        record_on_start=True,
        recording_config={"video_config": {"width": 640, "height": 360}, "max_seconds": 600},
    ).data
    assert meeting is not None and meeting.id is not None
    with pytest.raises(BadRequestError, match="no live session"):
        cf.realtime_kit.recordings.start_track_recording(
            tenant.app_id, account_id=tenant.account_id, meeting_id=meeting.id
        )
    sid = recorder.session_started(tenant.app_id, meeting.id, "rtmp://127.0.0.1/live/room")
    recorder.joined(sid, "p1", "user-1", "rtmp://127.0.0.1/live/p1")
    recorder.joined(sid, "p2", "user-2", "rtmp://127.0.0.1/live/p2")
    auto = cf.realtime_kit.recordings.get_active_recordings(
        meeting.id, account_id=tenant.account_id, app_id=tenant.app_id
    ).data
    assert get(cf, tenant, auto.id).start_reason.reason == "RECORD_ON_START"
    job = claim(recorder, auto.id)
    assert job["source_url"] == "rtmp://127.0.0.1/live/room"
    # Meeting config over app defaults; the start body (none here) would win over both.
    assert job["config"]["video"]["width"] == 640 and job["config"]["max_seconds"] == 600
    track = cf.realtime_kit.recordings.start_track_recording(
        tenant.app_id,
        account_id=tenant.account_id,
        meeting_id=meeting.id,
        layers={"default": {"file_name_prefix": "speaker", "media_kind": "audio"}},
        user_ids=["user-2"],
    ).data
    assert track is not None
    assert track.recording.output_file_name.startswith("speaker_")
    assert track.recording.output_file_name.endswith(".webm")
    tjob = claim(recorder, track.recording.id)
    assert [s["participant_id"] for s in tjob["sources"]] == ["p2"]
    # The composite one is the active one (wire-spec §7 item 31).
    again = cf.realtime_kit.recordings.get_active_recordings(
        meeting.id, account_id=tenant.account_id, app_id=tenant.app_id
    ).data
    assert again.id == auto.id


def test_recorder_api_needs_a_recorder_token(server: LiveServer, tenant: Tenant) -> None:
    with httpx.Client() as http:
        r = http.post(f"{server.url}/recorder/v1/poll", json={}, headers=tenant.auth)
        assert r.status_code == 401
        r = http.post(f"{server.url}/recorder/v1/poll", json={})
        assert r.status_code == 401


def test_a_lost_poll_answer_is_offered_again_a_restart_is_not(
    server: LiveServer, tenant: Tenant, database: Database, recorder: Scripted
) -> None:
    m = add_meeting(database, tenant.app_id, "t")
    rid = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]["id"]
    first = [i["id"] for i in recorder.poll(50, [], instance="run-1")]
    assert rid in first  # claimed; say this answer never arrived
    again = [i for i in recorder.poll(50, [], instance="run-1") if i["id"] == rid]
    assert again and again[0]["status"] == "INVOKED" and again[0]["kind"] == "composite"
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "INVOKED"
    # A new run of the recorder that does not hold it: it was lost with the old run.
    recorder.poll(0, [], instance="run-2")
    assert raw(server, tenant, "GET", f"/{rid}").json()["data"]["status"] == "ERRORED"


def test_seeded_recordings_are_never_captured(
    server: LiveServer, tenant: Tenant, database: Database, recorder: Scripted
) -> None:
    """A seeded INVOKED recording is a catalogue entry: no recorder claims it, so `reckit
    seed` followed by `reckit serve` does not start capturing hundreds of recordings."""
    plan = SeedPlan(tenant.app_id, 400, 50, 7, CLOCK.now_ms(), server.url, b"k" * 32)
    with database.transaction(write=True) as tx:
        seed(tx, plan)
    seeded = raw(server, tenant, "GET", "?status=INVOKED&per_page=100").json()["data"]
    assert seeded, "the seeder made no INVOKED recording"
    m = add_meeting(database, tenant.app_id, "started through the API")
    rid = raw(server, tenant, "POST", "", {"meeting_id": m.id}).json()["data"]["id"]
    claimed = {i["id"] for i in recorder.poll(50, [])}
    assert rid in claimed
    assert not claimed & {r["id"] for r in seeded}
    for r in seeded:
        assert raw(server, tenant, "GET", f"/{r['id']}").json()["data"]["status"] == "INVOKED"
