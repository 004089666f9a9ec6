"""The reference recorder: claims recordings through the recorder API, captures them with
FFmpeg (media.py), and hands the files in. ``reckit recorder`` runs it on its own; ``reckit
serve`` runs one in-process, so one command gives a working system.

One thread polls (the heartbeat, twice a second) and one thread per recording drives its
capture toward the status the server holds: RECORDING captures, PAUSED holds, UPLOADING
finishes and uploads, ERRORED or gone drops everything.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx

from reckit.recorder.client import RecorderAPIError, RecorderClient
from reckit.recorder.media import CompositeCapture, TrackCapture
from reckit.recorder.specs import AudioSpec, MediaError, Source, VideoSpec

log = logging.getLogger("reckit.recorder")
POLL_INTERVAL_S = 0.5


def _video_spec(video: dict[str, Any], watermark: Path | None) -> VideoSpec:
    mark = video.get("watermark") or {}
    size = mark.get("size") or {}
    return VideoSpec(
        codec=video.get("codec", "H264"),
        width=int(video.get("width", 1280)),
        height=int(video.get("height", 720)),
        export_file=bool(video.get("export_file", True)),
        watermark=watermark,
        watermark_width=size.get("width"),
        watermark_height=size.get("height"),
        watermark_position=mark.get("position", "left top"),
    )


def _audio_spec(audio: dict[str, Any]) -> AudioSpec:
    return AudioSpec(
        codec=audio.get("codec", "AAC"),
        channel=audio.get("channel", "stereo"),
        export_file=bool(audio.get("export_file", True)),
    )


def _fetch(url: str, dest: Path) -> Path:
    with httpx.Client(timeout=10, follow_redirects=True) as http:
        r = http.get(url)
        r.raise_for_status()
    dest.write_bytes(r.content)
    return dest


class _Job(threading.Thread):
    def __init__(self, client: RecorderClient, item: dict[str, Any], work_dir: Path) -> None:
        super().__init__(name=f"recording-{item['id'][:8]}", daemon=True)
        self.client = client
        self.item = item
        self.rid: str = item["id"]
        self.work_dir = work_dir / self.rid
        self.wanted: queue.Queue[str] = queue.Queue()
        self.done = threading.Event()

    def tell(self, status: str) -> None:
        self.wanted.put(status)

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:
            log.exception("recording %s failed", self.rid)
            self._report_failure(f"{type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.done.set()

    def _report_failure(self, reason: str) -> None:
        try:
            self.client.failed(self.rid, reason)
        except (RecorderAPIError, httpx.HTTPError):
            log.warning("could not report the failure of %s; the server will time it out",
                        self.rid)  # fmt: skip

    def _capture(self) -> CompositeCapture | TrackCapture:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        item, config = self.item, self.item.get("config") or {}
        stem = Path(item["output_file_name"]).stem
        if item["kind"] == "track":
            sources = {s["participant_id"]: Source(s.get("url")) for s in item["sources"]}
            if not sources:
                raise MediaError("no participant to record")
            return TrackCapture(sources, self.work_dir, lambda pid: f"{stem}_{pid}")
        video = config.get("video") or {}
        watermark = None
        url = (video.get("watermark") or {}).get("url")
        if url:
            watermark = _fetch(url, self.work_dir / "watermark")
        return CompositeCapture(
            Source(item.get("source_url")), _video_spec(video, watermark),
            _audio_spec(config.get("audio") or {}), self.work_dir, stem,
        )  # fmt: skip

    def _run(self) -> None:
        if self.item["status"] != "INVOKED":
            return
        capture = self._capture()
        capture.start()
        state = self.client.started(self.rid)["status"]
        try:
            while True:
                if state == "PAUSED":
                    capture.pause()
                elif state == "RECORDING":
                    capture.resume()
                elif state == "UPLOADING":
                    self._finish(capture)
                    return
                elif state not in ("INVOKED",):  # ERRORED, UPLOADED, GONE
                    capture.abort()
                    return
                failure = capture.failure()
                if failure is not None:
                    capture.abort()
                    self._report_failure(failure)
                    return
                with contextlib.suppress(queue.Empty):
                    state = self.wanted.get(timeout=0.2)
        except BaseException:
            capture.abort()
            raise

    def _finish(self, capture: CompositeCapture | TrackCapture) -> None:
        files: dict[str, dict[str, Any]] = {}
        if isinstance(capture, TrackCapture):
            outputs = capture.stop()
            duration = max((o.duration_s for o in outputs.values()), default=0.0)
            for pid, each in outputs.items():
                path = each.audio or each.video
                assert path is not None
                self.client.upload(self.rid, path.name, path)
                files[path.name] = {"role": "track", "participant_id": pid}
        else:
            out = capture.stop()
            duration = out.duration_s
            for path, role in ((out.video, "video"), (out.audio, "audio")):
                if path is not None:
                    self.client.upload(self.rid, path.name, path)
                    files[path.name] = {"role": role}
        self.client.complete(self.rid, files, duration)


class ReferenceRecorder:
    def __init__(
        self, client: RecorderClient, work_dir: Path, capacity: int = 4,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:  # fmt: skip
        self.client = client
        self.work_dir = work_dir
        self.capacity = capacity
        self.poll_interval_s = poll_interval_s
        self.jobs: dict[str, _Job] = {}
        # This run of the recorder: the server re-offers what this run claimed but never heard
        # of (a lost answer), and fails what an earlier run held (a restart).
        self.instance = secrets.token_hex(8)

    def poll_once(self) -> None:
        for rid in [rid for rid, job in self.jobs.items() if job.done.is_set()]:
            del self.jobs[rid]
        for item in self.client.poll(self.capacity, list(self.jobs), self.instance):
            job = self.jobs.get(item["id"])
            if job is not None:
                job.tell(item["status"])
            elif item.get("kind") is not None:  # a new assignment
                job = _Job(self.client, item, self.work_dir)
                self.jobs[item["id"]] = job
                job.start()

    def run_until_interrupted(self, stop: threading.Event) -> None:
        try:
            self.run(stop)
        except KeyboardInterrupt:
            stop.set()
            self._drop_all()

    def run(self, stop: threading.Event) -> None:
        log.info("recorder polling with capacity %d", self.capacity)
        failures = 0
        while not stop.is_set():
            try:
                self.poll_once()
                failures = 0
            except (RecorderAPIError, httpx.HTTPError) as exc:
                failures += 1
                # The in-process recorder starts before the server listens: a few refused
                # polls are expected; a server that stays away is worth saying.
                if failures == 5 or failures % 120 == 0:
                    log.warning("poll failed %d times (%s); retrying", failures, exc)
            stop.wait(self.poll_interval_s)
        self._drop_all()

    def _drop_all(self) -> None:
        # Stopping the recorder ends its captures; the server notices the missing heartbeats.
        for job in self.jobs.values():
            job.tell("GONE")
        for job in self.jobs.values():
            job.join(10)
