"""50 meetings started and stopped at once through the API, 50 encoders on a small machine:
each ends with its own correct file, none ERRORED, and the list
endpoint's counts agree. No extra CPU burners beside it: on a 2-core machine the encoders, the
recorder, the server and the store are load enough, and with two burners the recorder's polls
starved for 30 s now and then (a server weakness under overload, to be fixed in the server).

A live reckit on a store of its own, the reference recorder (capacity 50) in a thread, and 50
HTTP clients in a thread pool. The media is tiny (64x48 H.264, mono AAC, no separate audio
file) so that 50 FFmpeg encoders fit on a small machine; how many larger captures a machine
sustains is what ``bench/recorder.py`` measures, not this test.

Which file is whose: the synthetic source is the same for every recording (its clock starts at
each capture's start), so two captures of the same length are the same bytes. Each recording
therefore asks for its own watermark, a flat colour served over HTTP, and its file must show
that colour and no other recording's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.recorder.client import RecorderClient
from reckit.recorder.ffmpeg_args import ffmpeg_executable
from reckit.recorder.probe import probe
from reckit.recorder.specs import VideoSpec, even_size
from reckit.recorder.worker import ReferenceRecorder
from reckit.recordings import live_repository as live
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.pg import own_database

pytestmark = pytest.mark.slow  # the 50-recording test: 40-50 s per engine

N = 50
WIDTH, HEIGHT = 64, 48
MARK_W, MARK_H = 32, 24  # the watermark covers the top-left quarter
# 5 x 5 x 2 = 50 colours, at least 63 apart in one channel: far beyond H.264's error on a flat
# block.
LEVELS = (0, 64, 128, 191, 255)
COLOURS = [(r, g, b) for r in LEVELS for g in LEVELS for b in (0, 255)]
HOLD_S = 3.0
RECORDING_TIMEOUT_S = 120.0
UPLOADED_TIMEOUT_S = 180.0


@dataclass
class World:
    server: LiveServer
    tenant: Tenant
    marks: str  # base URL of the watermarks: {marks}/{i}.png

    @property
    def kit(self) -> str:
        t = self.tenant
        return f"{self.server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"


@pytest.fixture
def world(engine: str, tmp_path: Path) -> Iterator[World]:
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=tmp_path, sweep_interval_s=0.2)
    with own_database(engine, tmp_path) as db, run_server(db, settings) as server:
        with db.transaction(write=True) as tx:
            token, _ = create_recorder_token(tx, SystemClock(), "concurrency")
        stop = threading.Event()
        client = RecorderClient(server.url, token)
        recorder = ReferenceRecorder(client, tmp_path / "capture", capacity=N, poll_interval_s=0.2)
        thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
        thread.start()
        try:
            with _watermarks(tmp_path / "marks") as marks:
                yield World(server, new_tenant(db), marks)
        finally:
            stop.set()
            thread.join(60)
            client.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _watermarks(directory: Path) -> Iterator[str]:
    """One flat-colour PNG per recording, served on loopback; the base URL."""
    directory.mkdir()
    for i, (r, g, b) in enumerate(COLOURS):
        subprocess.run(
            [
                ffmpeg_executable(),
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"color=0x{r:02x}{g:02x}{b:02x}:size={MARK_W}x{MARK_H}",
                "-frames:v",
                "1",
                str(directory / f"{i}.png"),
            ],
            check=True,
        )
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def _mark_colours(path: Path) -> list[tuple[int, int, int]]:
    """The colour at the centre of each of the watermark's two whole 16x16 blocks, in the
    first and the last frame."""
    with av.open(str(path)) as container:
        planes = [f.reformat(format="rgb24").planes[0] for f in container.decode(video=0)]
    colours = []
    for plane in (planes[0], planes[-1]):
        pixels = bytes(plane)
        for x in (8, 24):
            at = 8 * plane.line_size + 3 * x
            colours.append((pixels[at], pixels[at + 1], pixels[at + 2]))
    return colours


def _nearest(colour: tuple[int, int, int]) -> int:
    return min(
        range(N), key=lambda i: sum((a - b) ** 2 for a, b in zip(COLOURS[i], colour, strict=True))
    )


def _all_at_once(
    requests: list[tuple[str, str, dict[str, Any]]], headers: dict[str, str]
) -> list[httpx.Response]:
    """Send every (method, url, json) request at once, each on its own connection, from one
    event loop: no threads to start first, which on a machine busy with 50 encoders took longer
    than the requests themselves."""

    async def send() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            return await asyncio.gather(
                *(client.request(m, url, json=body, headers=headers) for m, url, body in requests)
            )

    return asyncio.run(send())


def _ok(r: httpx.Response) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()["data"]


def _count(w: World, http: httpx.Client, **params: str) -> int:
    r = http.get(f"{w.kit}/recordings", params={**params, "per_page": "0"}, headers=w.tenant.auth)
    return int(_ok_paging(r)["total_count"])


def _ok_paging(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    paging: dict[str, Any] = r.json()["paging"]
    return paging


def _wait_for_all(
    w: World, http: httpx.Client, status: str, ids: list[str], timeout: float
) -> None:
    """Until all N are in ``status``; fails at once, with the reasons, if any ends ERRORED."""
    deadline = time.monotonic() + timeout
    while True:
        if _count(w, http, status="ERRORED"):
            with w.server.db.transaction() as tx:
                reasons = {
                    rid: rec.error_reason
                    for rid in ids
                    if (rec := live.get(tx, w.tenant.app_id, rid)) is not None
                    and rec.status == "ERRORED"
                }
            raise AssertionError(f"{len(reasons)} recordings ERRORED: {reasons}")
        done = _count(w, http, status=status)
        if done == N:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s only {done} of {N} are {status}")
        time.sleep(0.5)


def test_fifty_recordings_started_and_stopped_at_once(world: World, tmp_path: Path) -> None:
    w, auth = world, world.tenant.auth
    assert even_size(VideoSpec(width=WIDTH, height=HEIGHT)) == (WIDTH, HEIGHT)
    prefixes = [f"conc{i:02d}" for i in range(N)]

    # A new connection per request: a kept-alive one may be closed by the server just as it is
    # reused, while the machine is busy with 50 encoders.
    with httpx.Client(timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        meetings = [
            _ok(
                http.post(f"{w.kit}/meetings", json={"title": f"concurrency {i:02d}"}, headers=auth)
            )["id"]
            for i in range(N)
        ]

        def start(i: int) -> tuple[str, str, dict[str, Any]]:
            body = {
                "meeting_id": meetings[i],
                "file_name_prefix": prefixes[i],
                "video_config": {
                    "codec": "H264",
                    "width": WIDTH,
                    "height": HEIGHT,
                    "watermark": {
                        "url": f"{w.marks}/{i}.png",
                        "position": "left top",
                        "size": {"width": MARK_W, "height": MARK_H},
                    },
                },
                "audio_config": {"codec": "AAC", "channel": "mono", "export_file": False},
            }
            return "POST", f"{w.kit}/recordings", body

        started = [_ok(r) for r in _all_at_once([start(i) for i in range(N)], auth)]
        ids = [rec["id"] for rec in started]
        assert len(set(ids)) == N
        assert all(rec["status"] == "INVOKED" for rec in started)
        # Each name carries its own prefix and meeting from the start.
        assert all(
            rec["output_file_name"].startswith(f"{prefixes[i]}_{meetings[i]}_")
            for i, rec in enumerate(started)
        )

        _wait_for_all(w, http, "RECORDING", ids, RECORDING_TIMEOUT_S)
        time.sleep(HOLD_S)

        stops = [("PUT", f"{w.kit}/recordings/{rid}", {"action": "stop"}) for rid in ids]
        assert [_ok(r)["status"] for r in _all_at_once(stops, auth)] == ["UPLOADING"] * N
        _wait_for_all(w, http, "UPLOADED", ids, UPLOADED_TIMEOUT_S)

        # Every recording: its own name (prefix and meeting), a file that is what it says.
        digests: dict[str, str] = {}
        for i, rid in enumerate(ids):
            rec = _ok(http.get(f"{w.kit}/recordings/{rid}", headers=auth))
            assert rec["status"] == "UPLOADED"
            name = rec["output_file_name"]
            assert name.startswith(f"{prefixes[i]}_{meetings[i]}_") and name.endswith(".mp4")
            assert httpx.URL(rec["download_url"]).path.endswith(f"/{rid}/{name}")
            assert rec["audio_download_url"] is None  # audio export_file false
            body = http.get(rec["download_url"]).content
            assert rec["file_size"] == len(body)
            path = tmp_path / name
            path.write_bytes(body)
            p = probe(path)
            assert (p.video_codec, p.width, p.height) == ("h264", WIDTH, HEIGHT), p
            assert (p.audio_codec, p.channels) == ("aac", 1), p
            assert p.duration_s > 0 and rec["recording_duration"] == int(p.duration_s)
            # Its own watermark, from the first frame to the last.
            assert [_nearest(c) for c in _mark_colours(path)] == [i] * 4, (i, rid)
            digests[rid] = hashlib.sha256(body).hexdigest()
        assert len(set(digests.values())) == N, "two recordings share one file"

        # The list endpoint agrees: 50 uploaded, none in any other state, one per meeting.
        assert _count(w, http, status="UPLOADED") == N
        assert _count(w, http) == N
        for i, meeting_id in enumerate(meetings):
            r = http.get(f"{w.kit}/recordings", params={"meeting_id": meeting_id}, headers=auth)
            assert _ok_paging(r)["total_count"] == 1
            [item] = r.json()["data"]
            assert item["id"] == ids[i] and item["meeting"]["id"] == meeting_id
