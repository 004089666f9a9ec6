"""The reference recorder: claims recordings through the recorder API, captures them with
FFmpeg (media.py), and hands the files in. ``reckit recorder`` runs it on its own; ``reckit
serve`` runs one in-process, so one command gives a working system.

One thread polls (the heartbeat, twice a second) and one thread per recording drives its
capture toward the status the server holds: RECORDING captures, PAUSED holds, UPLOADING
finishes and uploads, ERRORED or gone drops everything.

A capture outlives the process that made it. Each recording is captured in
``<work_dir>/<recording id>/``, beside the assignment that started it (``item.json``), in
Matroska segments that stay readable when FFmpeg is killed. A new run of the recorder on the
same work dir adopts every such directory before its first poll, reports the recording as
held, and follows what the server answers: it resumes the capture (new segments after the old
ones), joins and uploads what is on disk, starts it afresh, or deletes it. Anything else in the
work dir is removed. Files stay until the server has them: uploads and ``complete`` are retried
through connection errors and 5xx answers for as long as the server says UPLOADING.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from reckit.ids import is_uuid
from reckit.recorder.client import RecorderAPIError, RecorderClient
from reckit.recorder.media import CompositeCapture, TrackCapture
from reckit.recorder.page import PageCapture, PageSpec, new_auth_token, page_capacity
from reckit.recorder.page_browser import missing_programs
from reckit.recorder.specs import AudioSpec, MediaError, Source, VideoSpec

log = logging.getLogger("reckit.recorder")
POLL_INTERVAL_S = 0.5
ITEM_FILE = "item.json"  # the assignment, in each capture's directory
# Handing files in through a server that is down or failing: the first retry after this many
# seconds, each later one after twice the last, up to the maximum.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
LOST = "capture lost in a crash: no usable segment"

# What a job is told besides the server's statuses.
_DETACH = "(recorder stopping)"  # end the capture's segment, keep its files for the next run
_NOT_MINE = "(not this recorder's)"  # files handed in, or held by another recorder: drop it
_LIVE = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING")
_RESUMABLE = ("RECORDING", "PAUSED", "UPLOADING")


class WorkDirBusy(Exception):
    """Another recorder runs on this work dir: two would adopt (and delete) each other's
    captures."""


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


def _write_atomically(path: Path, data: bytes) -> None:
    """A temporary file renamed into place: ``path`` holds either nothing or all of ``data``."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


FETCH_ATTEMPTS = 4


def _fetch(url: str, dest: Path, backoff_s: float = 0.5) -> Path:
    """``url``'s body written to ``dest``. A dropped connection, a timeout or a 5xx/429 is tried
    again (after 0.5, 1 and 2 s by default): a watermark host slow for a moment, or a recorder
    machine busy with many encoders, must not fail the recording; a 4xx other than 429 fails at
    once."""
    with httpx.Client(timeout=httpx.Timeout(30, connect=10), follow_redirects=True) as http:
        for attempt in range(FETCH_ATTEMPTS):
            last = attempt == FETCH_ATTEMPTS - 1
            try:
                r = http.get(url)
            except httpx.TransportError:
                if last:
                    raise
            else:
                if (r.status_code < 500 and r.status_code != 429) or last:
                    r.raise_for_status()
                    break
            time.sleep(backoff_s * 2**attempt)
    _write_atomically(dest, r.content)
    return dest


def _save_item(directory: Path, item: dict[str, Any]) -> None:
    """What a later run needs to carry the capture on. The storage config is the server's
    business (its secrets sealed, but still not the recorder's to keep)."""
    kept = dict(item)
    config = kept.get("config")
    if isinstance(config, dict) and "storage_config" in config:
        kept["config"] = {k: v for k, v in config.items() if k != "storage_config"}
    _write_atomically(directory / ITEM_FILE, orjson.dumps(kept))


def _load_item(directory: Path) -> dict[str, Any] | None:
    """The assignment saved in a capture's directory, if it is there, whole, and names this
    directory's recording; else None."""
    if directory.is_symlink() or not directory.is_dir() or not is_uuid(directory.name):
        return None
    try:
        item = orjson.loads((directory / ITEM_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if (
        not isinstance(item, dict)
        or item.get("id") != directory.name
        or item.get("kind") not in ("composite", "track")
        or not isinstance(item.get("output_file_name"), str)
    ):
        return None
    return item


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def _wanted(item: dict[str, Any]) -> str:
    """What a job must do with a recording it holds, from the poll's item: the status, unless
    the item is no assignment (no ``kind``) while the status is live: then the files are handed
    in (the server's now) or another recorder holds it, and this one drops it."""
    status = str(item["status"])
    if item.get("kind") is None and status in _LIVE:
        return _NOT_MINE
    return status


class _Job(threading.Thread):
    """One recording. ``recovered``: adopted from an earlier run's directory; it waits for the
    poll to say what the server holds before it does anything."""

    def __init__(
        self,
        client: RecorderClient,
        item: dict[str, Any],
        work_dir: Path,
        recovered: bool = False,
    ) -> None:
        super().__init__(name=f"recording-{item['id'][:8]}", daemon=True)
        self.client = client
        self.item = item
        self.rid: str = item["id"]
        self.work_dir = work_dir / self.rid
        self.recovered = recovered
        self.wanted: queue.Queue[tuple[str, dict[str, Any] | None]] = queue.Queue()
        self.latest = item
        self.done = threading.Event()
        self.is_page = bool((item.get("config") or {}).get("url"))

    def tell(self, status: str, item: dict[str, Any] | None = None) -> None:
        self.wanted.put((status, item))

    def run(self) -> None:
        keep = False
        try:
            keep = self._run()
        except Exception as exc:
            log.exception("recording %s failed", self.rid)
            self._report_failure(f"{type(exc).__name__}: {exc}")
        finally:
            if not keep:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            self.done.set()

    def _report_failure(self, reason: str) -> None:
        try:
            self.client.failed(self.rid, reason)
        except (RecorderAPIError, httpx.HTTPError):
            log.warning("could not report the failure of %s; the server will time it out", self.rid)

    def _next(self, timeout: float | None) -> str | None:
        """The newest status told, waiting up to ``timeout`` (None: for ever) for one; None if
        none came."""
        try:
            status, item = self.wanted.get(timeout=timeout)
        except queue.Empty:
            return None
        while True:
            if item is not None and item.get("kind") is not None:
                self.latest = item  # the assignment as the server last gave it
            try:
                status, item = self.wanted.get_nowait()
            except queue.Empty:
                return status

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
            watermark = self.work_dir / "watermark"
            if not watermark.is_file():  # an earlier run may have fetched it
                _fetch(url, watermark)
        if config.get("url"):
            return PageCapture(
                PageSpec(
                    url=str(config["url"]),
                    params={
                        "authToken": new_auth_token(),
                        "apiBase": self.client.server_url,
                        "meetingId": str(item.get("meeting_id", "")),
                        "recordingId": self.rid,
                    },
                    wait_for_start=bool((config.get("page") or {}).get("wait_for_start")),
                ),
                _video_spec(video, None),
                _audio_spec(config.get("audio") or {}),
                self.work_dir,
                stem,
            )
        return CompositeCapture(
            Source(item.get("source_url")),
            _video_spec(video, watermark),
            _audio_spec(config.get("audio") or {}),
            self.work_dir,
            stem,
        )

    def _run(self) -> bool:
        """Drive the recording to its end. True: keep the directory (the recorder is stopping
        and its next run carries on)."""
        state = self._next(None) if self.recovered else self.item["status"]
        if state == _DETACH:
            return True
        if state == "INVOKED":
            return self._start()
        if not self.recovered or state not in _RESUMABLE:
            if self.recovered:
                log.info(
                    "recording %s left by an earlier run is %s: its files are deleted",
                    self.rid,
                    state,
                )
            return False  # ERRORED, UPLOADED, GONE, handed in, someone else's
        capture = self._capture()
        if not capture.usable():
            log.warning("recording %s: %s", self.rid, LOST)
            self._report_failure(LOST)
            return False
        log.info("recording %s carried on from an earlier run (%s)", self.rid, state)
        return self._drive(capture, state)

    def _start(self) -> bool:
        if self.recovered:
            # Claimed by an earlier run that never told the server it started: whatever that
            # run captured came before the recording's start, and is not kept. The assignment
            # is the server's of now (the participants, say, may have changed).
            for entry in self.work_dir.iterdir():
                _remove(entry)
            self.item = self.latest
        self.work_dir.mkdir(parents=True, exist_ok=True)
        _save_item(self.work_dir, self.item)
        capture = self._capture()
        try:
            capture.start()
            state = self.client.started(self.rid)["status"]
        except BaseException:
            capture.abort()
            raise
        return self._drive(capture, state)

    def _drive(self, capture: CompositeCapture | TrackCapture, state: str) -> bool:
        try:
            while True:
                if state == "PAUSED":
                    capture.pause()
                elif state == "RECORDING":
                    capture.resume()
                elif state == "UPLOADING":
                    return self._finish(capture)
                elif state == _DETACH:
                    capture.pause()  # the segment ends cleanly; the next run carries on
                    return True
                elif state != "INVOKED":  # ERRORED, UPLOADED, GONE, not this recorder's
                    capture.abort()
                    return False
                failure = capture.failure()
                if failure is not None:
                    capture.abort()
                    self._report_failure(failure)
                    return False
                if isinstance(capture, PageCapture) and state in ("RECORDING", "PAUSED"):
                    ended = capture.ended()
                    if ended is not None:
                        # Nobody stopped it, but it is over: what was captured is handed in.
                        log.info("recording %s: %s; stopping it", self.rid, ended)
                        capture.pause()
                        answer = self.client.stop(self.rid, ended, crashed="died" in ended)
                        state = str(answer.get("status", state))
                        continue
                state = self._next(0.2) or state
        except BaseException:
            capture.abort()
            raise

    def _join(
        self, capture: CompositeCapture | TrackCapture
    ) -> tuple[dict[str, dict[str, Any]], float, list[Path]]:
        # The segments stay until the directory goes: a crash before the server has the files
        # leaves the next run something to join again.
        files: dict[str, dict[str, Any]] = {}
        paths: list[Path] = []
        if isinstance(capture, TrackCapture):
            outputs = capture.stop(keep_segments=True)
            duration = max((o.duration_s for o in outputs.values()), default=0.0)
            users = {s["participant_id"]: s.get("user_id") for s in self.item.get("sources", [])}
            for pid, each in outputs.items():
                path = each.audio or each.video
                assert path is not None
                paths.append(path)
                # Each file its own owner and length (the recording's `tracks`).
                files[path.name] = {
                    "role": "track",
                    "participant_id": pid,
                    "user_id": users.get(pid),
                    "duration_s": each.duration_s,
                }
        else:
            out = capture.stop(keep_segments=True)
            duration = out.duration_s
            for path, role in ((out.video, "video"), (out.audio, "audio")):
                if path is not None:
                    paths.append(path)
                    files[path.name] = {"role": role}
        return files, duration, paths

    def _finish(self, capture: CompositeCapture | TrackCapture) -> bool:
        """Join, upload, complete. A connection error or a 5xx is retried, with backoff, for as
        long as the server says UPLOADING; the files go only once the server has them (or has
        moved on). A 409 means it has them already; another 4xx (but 404 and 429) is final."""
        files, duration, paths = self._join(capture)
        sent: set[Path] = set()
        delay = RETRY_FIRST_S
        while True:
            try:
                for path in paths:
                    if path not in sent:
                        self.client.upload(self.rid, path.name, path)
                        sent.add(path)
                self.client.complete(self.rid, files, duration)
                return False
            except RecorderAPIError as exc:
                if exc.status == 409:
                    log.info("recording %s: the server has its files already", self.rid)
                    return False
                # 404: not held by this recorder (the poll will say what became of it).
                if 400 <= exc.status < 500 and exc.status not in (404, 429):
                    raise
                problem = str(exc)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            log.warning(
                "recording %s: handing the files in failed (%s); retrying in %g s",
                self.rid,
                problem,
                delay,
            )
            state = self._next(delay) or "UPLOADING"
            if state == _DETACH:
                return True
            if state != "UPLOADING":
                log.info("recording %s is %s: its files are deleted", self.rid, state)
                return False
            delay = min(delay * 2, RETRY_MAX_S)


def _page_capacity_here() -> int:
    missing = missing_programs()
    if missing:
        log.info(
            "page recordings (url) are not taken by this recorder: %s not installed",
            ", ".join(missing),
        )
        return 0
    return page_capacity(os.cpu_count() or 1)


class ReferenceRecorder:
    def __init__(
        self,
        client: RecorderClient,
        work_dir: Path,
        capacity: int = 4,
        poll_interval_s: float = POLL_INTERVAL_S,
        page_capacity: int | None = None,
    ) -> None:
        self.client = client
        self.work_dir = work_dir
        self.capacity = capacity
        # Page recordings at once (each a browser: see page.py CORES_PER_PAGE); none when the
        # programs they need are missing, so that a node that has them takes them.
        self.page_capacity = page_capacity if page_capacity is not None else _page_capacity_here()
        self.poll_interval_s = poll_interval_s
        self.jobs: dict[str, _Job] = {}
        # This run of the recorder: the server re-offers what this run claimed but never heard
        # of (a lost answer); what an earlier run held, this run reports from its directory.
        self.instance = secrets.token_hex(8)
        self._lock: int | None = None

    def poll_once(self) -> None:
        for rid in [rid for rid, job in self.jobs.items() if job.done.is_set()]:
            del self.jobs[rid]
        pages = sum(1 for job in self.jobs.values() if job.is_page)
        slots = max(0, self.page_capacity - pages)
        for item in self.client.poll(self.capacity, list(self.jobs), self.instance, slots):
            job = self.jobs.get(item["id"])
            if job is not None:
                job.tell(_wanted(item), item)
            elif item.get("kind") is not None:  # a new assignment
                job = _Job(self.client, item, self.work_dir)
                self.jobs[item["id"]] = job
                job.start()

    def _claim_work_dir(self) -> None:
        """A lock on the directory itself (nothing written in it), held for the run and let go
        by the kernel when the process dies."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.work_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise WorkDirBusy(f"another recorder runs on the work dir {self.work_dir}") from exc
        self._lock = fd

    def _release_work_dir(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def adopt(self) -> None:
        """Before the first poll: every capture an earlier run left in the work dir becomes a
        job that carries it on (or deletes it, as the server answers); anything else there goes.
        """
        for entry in sorted(self.work_dir.iterdir()):
            item = _load_item(entry)
            if item is None:
                log.info(
                    "removing %s from the work dir: not a capture this recorder can carry on", entry
                )
                _remove(entry)
                continue
            for stray in entry.iterdir():
                if stray.name.endswith((".tmp", ".part")):
                    log.info("removing %s: written in part when the recorder stopped", stray)
                    _remove(stray)
            log.info("recording %s: adopting the capture an earlier run left", entry.name)
            job = _Job(self.client, item, self.work_dir, recovered=True)
            self.jobs[job.rid] = job
            job.start()

    def run_until_interrupted(self, stop: threading.Event) -> None:
        try:
            self.run(stop)
        except KeyboardInterrupt:
            stop.set()

    def run(self, stop: threading.Event) -> None:
        self._claim_work_dir()
        try:
            self.adopt()
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
        finally:
            self._drop_all()
            self._release_work_dir()

    def _drop_all(self) -> None:
        # Stopping the recorder ends its captures' segments and keeps their files; the next run
        # on this work dir carries them on, or deletes them if the server has moved on.
        for job in self.jobs.values():
            job.tell(_DETACH)
        for job in self.jobs.values():
            job.join(10)
