"""Recording a web page (``url``), end to end: the official SDK drives a live reckit whose
reference recorder opens the page in its own Xvfb, PulseAudio and Chromium, and the MP4 that
comes back is probed and measured. The pages are served on 127.0.0.1 (tests/support/
page_site.py), so the server runs with ``page_allow_private``."""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cloudflare import Cloudflare

from reckit.config import Settings
from reckit.recorder import page
from reckit.recorder.page_browser import Navigation
from reckit.recorder.probe import probe
from reckit.recordings import live_repository as live
from tests.support.flows import wait_for
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.page_env import browser_pids, require_page_programs
from tests.support.page_site import PERIOD_S, Site, measure
from tests.support.pg import own_database
from tests.support.recorders import builtin_recorder

pytestmark = pytest.mark.slow  # a browser per recording: 10-30 s a test

# The bound: a flash and its tone at most this far apart in the file.
SYNC_S = 0.080


class World:
    def __init__(self, server: LiveServer, site: Site, work_dir: Path) -> None:
        self.server, self.site, self.work_dir = server, site, work_dir
        self.tenant = new_tenant(server.db)

    def sdk(self) -> Cloudflare:
        return Cloudflare(
            api_token=self.tenant.token,
            base_url=self.server.api,
            max_retries=0,
            http_client=ValidatingClient(),
            _strict_response_validation=True,
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_page_programs()
    data = tmp_path_factory.mktemp("page")
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=data,
        sweep_interval_s=0.2,
        page_allow_private=True,
    )
    site = Site()
    try:
        with (
            own_database("sqlite", data) as database,
            run_server(database, settings) as server,
            builtin_recorder(server, data / "capture", capacity=4, poll_interval_s=0.2),
        ):
            yield World(server, site, data / "capture")
    finally:
        site.close()


def _start(cf: Cloudflare, t: Tenant, url: str, **extra: Any) -> tuple[str, str]:
    rk = cf.realtime_kit
    meeting = rk.meetings.create(t.app_id, account_id=t.account_id, title="page").data
    assert meeting is not None and meeting.id is not None
    rec = rk.recordings.start_recordings(
        t.app_id, account_id=t.account_id, meeting_id=meeting.id, url=url, **extra
    ).data
    assert rec is not None and rec.status == "INVOKED"
    return meeting.id, rec.id


def _get(cf: Cloudflare, t: Tenant, rid: str) -> Any:
    return cf.realtime_kit.recordings.get_one_recording(
        rid, account_id=t.account_id, app_id=t.app_id
    ).data


def _act(cf: Cloudflare, t: Tenant, rid: str, action: Any) -> None:
    cf.realtime_kit.recordings.pause_resume_stop_recording(
        rid, account_id=t.account_id, app_id=t.app_id, action=action
    )


def _captured_s(world: World, rid: str) -> float:
    """The recorded time as reckit counts it: from capture start to stop, less the pauses."""
    with world.server.db.transaction() as tx:
        stored = live.get(tx, world.tenant.app_id, rid)
    assert stored is not None and stored.started_time and stored.stopped_time
    return (stored.stopped_time - stored.started_time - stored.paused_ms) / 1000


def _download(url: str | None, path: Path) -> Path:
    assert url is not None
    with httpx.Client(timeout=60) as http:
        path.write_bytes(http.get(url).content)
    return path


def test_a_page_is_recorded_with_picture_and_sound_in_step(world: World, tmp_path: Path) -> None:
    t = world.tenant
    with world.sdk() as cf:
        meeting_id, rid = _start(
            cf,
            t,
            world.site.url("/av.html?theme=dark"),
            video_config={"codec": "H264", "width": 640, "height": 360},
            audio_config={"codec": "AAC", "channel": "stereo"},
        )
        wait_for(lambda: _get(cf, t, rid).status == "RECORDING", "RECORDING")
        time.sleep(7 * PERIOD_S + 1)
        _act(cf, t, rid, "stop")
        done = wait_for(lambda: (r := _get(cf, t, rid)).status == "UPLOADED" and r, "UPLOADED")
    # The page got what a RealtimeKit recording app reads, and kept its own parameters.
    query = world.site.queries("/av.html")[-1]
    assert query["theme"] == ["dark"]
    assert query["meetingId"] == [meeting_id] and query["recordingId"] == [rid]
    assert query["apiBase"] == [world.server.url] and query["authToken"][0]

    video = _download(done.download_url, tmp_path / done.output_file_name)
    p = probe(video)
    assert (p.video_codec, p.audio_codec) == ("h264", "aac")
    assert (p.width, p.height) == (640, 360) and p.channels == 2
    captured = _captured_s(world, rid)
    assert abs(p.duration_s - captured) <= 1.0, (p.duration_s, captured)

    m = measure(video)
    assert m.luma_spread > 1.0, "the picture does not move"
    assert m.rms > 0.01, "the sound track is silent"
    offsets = m.offsets()
    print(f"flashes {m.flashes}\ntones {m.tones}\noffsets (s) {offsets}")
    # Seven periods recorded: at least six flashes each with its tone.
    assert len(offsets) >= 6, (m.flashes, m.tones)
    # In step: the flash and the tone start together, within the 80 ms. The median
    # over the pulses, so that a frame the busy machine's browser drew late (or the page's
    # first tone, while its sound output settles) is not the measure.
    assert abs(statistics.median(offsets)) <= SYNC_S, offsets


def test_a_page_answering_500_ends_errored_with_the_reason(world: World) -> None:
    t = world.tenant
    with world.sdk() as cf:
        _, rid = _start(cf, t, world.site.url("/error"))
        done = wait_for(lambda: (r := _get(cf, t, rid)).status == "ERRORED" and r, "ERRORED")
    assert done.error_reason is not None and "HTTP 500" in done.error_reason
    assert "/error" in done.error_reason and "authToken" not in done.error_reason


def test_a_page_that_never_loads_ends_errored_with_the_reason(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recorder runs in this process: its navigation gets 3 s a try, not 30.
    monkeypatch.setattr(page, "NAVIGATION", Navigation(timeout_s=3.0, tries=2))
    t = world.tenant
    with world.sdk() as cf:
        _, rid = _start(cf, t, world.site.url("/hang"))
        done = wait_for(lambda: (r := _get(cf, t, rid)).status == "ERRORED" and r, "ERRORED")
    assert done.error_reason is not None
    assert "could not be loaded (2 tries)" in done.error_reason
    assert "within 3 s" in done.error_reason


def test_a_killed_browser_ends_the_recording_with_what_was_captured(
    world: World, tmp_path: Path
) -> None:
    t = world.tenant
    with world.sdk() as cf:
        _, rid = _start(
            cf, t, world.site.url("/av.html"), video_config={"width": 640, "height": 360}
        )
        wait_for(lambda: _get(cf, t, rid).status == "RECORDING", "RECORDING")
        time.sleep(4)
        pids = browser_pids(world.work_dir / rid)
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        done = wait_for(lambda: (r := _get(cf, t, rid)).status == "UPLOADED" and r, "UPLOADED")
    assert done.stop_reason is not None and done.stop_reason.reason == "INTERNAL_ERROR"
    video = _download(done.download_url, tmp_path / "killed.mp4")
    p = probe(video)
    assert (p.video_codec, p.audio_codec) == ("h264", "aac")
    captured = _captured_s(world, rid)
    assert p.duration_s >= 3.0 and abs(p.duration_s - captured) <= 1.0, (p.duration_s, captured)


def test_pause_and_resume_give_one_file_without_the_paused_time(
    world: World, tmp_path: Path
) -> None:
    t = world.tenant
    with world.sdk() as cf:
        _, rid = _start(
            cf, t, world.site.url("/av.html"), video_config={"width": 640, "height": 360}
        )
        wait_for(lambda: _get(cf, t, rid).status == "RECORDING", "RECORDING")
        began = time.monotonic()
        time.sleep(4)
        _act(cf, t, rid, "pause")
        time.sleep(4)
        _act(cf, t, rid, "resume")
        time.sleep(4)
        _act(cf, t, rid, "stop")
        wall = time.monotonic() - began
        done = wait_for(lambda: (r := _get(cf, t, rid)).status == "UPLOADED" and r, "UPLOADED")
    video = _download(done.download_url, tmp_path / "paused.mp4")
    p = probe(video)
    assert (p.video_codec, p.audio_codec) == ("h264", "aac")
    captured = _captured_s(world, rid)
    assert abs(p.duration_s - captured) <= 1.0, (p.duration_s, captured)
    assert p.duration_s <= wall - 3.0, (p.duration_s, wall)


def test_a_page_can_start_and_end_its_own_recording(world: World, tmp_path: Path) -> None:
    """``page_config.wait_for_start``: capture begins when the page logs START_RECORDING (2 s
    after it loaded here), and ends when it logs END_RECORDING (6 s after), nobody stopping
    it through the API."""
    t = world.tenant
    with world.sdk() as cf:
        _, rid = _start(
            cf,
            t,
            world.site.url("/av.html?start=2&end=6"),
            video_config={"width": 640, "height": 360},
            extra_body={"page_config": {"wait_for_start": True}},
        )
        done = wait_for(lambda: (r := _get(cf, t, rid)).status == "UPLOADED" and r, "UPLOADED")
    assert done.stop_reason is not None and done.stop_reason.reason is None
    video = _download(done.download_url, tmp_path / "own.mp4")
    p = probe(video)
    captured = _captured_s(world, rid)
    assert abs(p.duration_s - captured) <= 1.0, (p.duration_s, captured)
    # Started at the page's signal, not at its load: the 2 s before it are not in the file
    # (4 s between the two signals; 6 s had it started at the load).
    assert p.duration_s < 5.5, p.duration_s
