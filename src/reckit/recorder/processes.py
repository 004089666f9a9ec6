"""The FFmpeg child processes: spawning and reaping them (killed with the parent, and at exit),
the Matroska segments of one output, joining segments by stream copy, and measuring and
hashing the joined file."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reckit.recorder.probe import ProbeError, probe
from reckit.recorder.specs import (
    FAILURE_MAX_CHARS,
    STOP_TIMEOUT_S,
    MediaError,
    Output,
    _Format,
)

_live: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()


def _kill_leftovers() -> None:
    with _live_lock:
        leftovers = list(_live)
    for process in leftovers:
        _reap(process, graceful=False)


atexit.register(_kill_leftovers)


# Looked up once here: the child must not load libraries between fork and exec.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. If the recorder is killed (even SIGKILL), the
    # kernel kills FFmpeg too. Caveat of the kernel API: "parent" is the forking thread, so the
    # capture's methods must be called from a thread that lives as long as the capture.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(ffmpeg: str, args: list[str], log: Path) -> subprocess.Popen[bytes]:
    # FFmpeg looks at stdin once per stats period (0.5 s by default) and records on meanwhile:
    # a short period makes "q" end the segment promptly, so pause() cuts where it is called.
    command = [
        ffmpeg,
        "-hide_banner",
        "-nostats",
        "-stats_period",
        "0.05",
        "-loglevel",
        "error",
        "-y",
        *args,
    ]
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,  # "q" on stdin is FFmpeg's clean stop
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            # Its own session: a Ctrl-C meant for the service must not cut a segment short.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    with _live_lock:
        _live.add(process)
    return process


def _reap(process: subprocess.Popen[bytes], *, graceful: bool) -> None:
    """End the process (with "q" first when graceful) and wait for it, never leaving a zombie."""
    try:
        if graceful and process.poll() is None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.write(b"q")
                process.stdin.flush()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT_S)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with _live_lock:
            _live.discard(process)


def _stderr_tail(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1] if lines else ""


class _Segments:
    """One output's FFmpeg processes: one Matroska segment per capturing stretch. Segments
    already in ``parts`` (an earlier run of the recorder, cut short) are the first ones: new
    segments are numbered after them, never over them."""

    def __init__(
        self,
        ffmpeg: str,
        parts: Path,
        label: str,
        build: Callable[[Path], list[str]],
        extension: str = ".mkv",
    ) -> None:
        self._ffmpeg = ffmpeg
        self._extension = extension
        self._parts = parts
        self.label = label
        self._build = build
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._failure: str | None = None
        # Survives into later segments, to say why stop() found nothing usable.
        self.last_failure: str | None = None
        self.files: list[Path] = []
        self._last_number = 0
        pattern = re.compile(re.escape(label) + r"-(\d+)" + re.escape(extension))
        found: list[tuple[int, Path]] = []
        with contextlib.suppress(OSError):
            for path in parts.iterdir():
                match = pattern.fullmatch(path.name)
                if match is not None and path.is_file():
                    found.append((int(match.group(1)), path))
        for number, path in sorted(found):
            self.files.append(path)
            self._last_number = number

    def begin(self) -> None:
        if self._process is not None:
            return
        self._last_number += 1
        number = self._last_number
        segment = self._parts / f"{self.label}-{number:03d}{self._extension}"
        self._log = self._parts / f"{self.label}-{number:03d}.log"
        self.files.append(segment)
        self._failure = None  # a failure belongs to its segment; a resume starts afresh
        self._process = _spawn(self._ffmpeg, self._build(segment), self._log)

    def wait_started(self, deadline: float) -> None:
        """Until the segment holds data (the muxer writes once every encoder has a frame), the
        process has exited, or the deadline (time.monotonic()) has passed."""
        process, segment = self._process, self.files[-1] if self.files else None
        while process is not None and segment is not None and time.monotonic() < deadline:
            if process.poll() is not None:
                return
            with contextlib.suppress(OSError):
                if segment.stat().st_size > 0:
                    return
            time.sleep(0.02)

    def end(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            self._check(process)
            _reap(process, graceful=True)

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _reap(process, graceful=False)

    def failure(self) -> str | None:
        if self._process is not None:
            self._check(self._process)
        return self._failure

    def _check(self, process: subprocess.Popen[bytes]) -> None:
        code = process.poll()
        if code is None or self._failure is not None:
            return
        tail = _stderr_tail(self._log) if self._log is not None else ""
        if code == 0:
            reason = f"FFmpeg stopped on its own: the source ended{': ' + tail if tail else ''}"
        else:
            reason = f"FFmpeg exited with code {code}: {tail or 'no error message'}"
        self._failure = " ".join(reason.split())[:FAILURE_MAX_CHARS]
        self.last_failure = self._failure

    def usable(self) -> list[Path]:
        """The segments with something in them: one killed right away may be empty or broken."""
        good = []
        for segment in self.files:
            try:
                measured = probe(segment)
            except ProbeError:
                continue
            if measured.duration_s > 0 and (measured.video_codec or measured.audio_codec):
                good.append(segment)
        return good


def _concat_list(parts: Path, label: str, segments: list[Path]) -> Path:
    listing = parts / f"{label}.concat"
    # The concat demuxer's quoting: inside single quotes, a quote is written '\''.
    lines = ["ffconcat version 1.0"]
    lines += ["file '" + str(s.resolve()).replace("'", "'\\''") + "'" for s in segments]
    listing.write_text("\n".join(lines) + "\n")
    return listing


def _join(ffmpeg: str, listing: Path, outputs: list[tuple[list[str], _Format, Path]]) -> None:
    """Join the segments by stream copy into each (stream selection, format, path). Each file is
    written under a temporary name and renamed, so a final name always holds a complete file."""
    args = ["-f", "concat", "-safe", "0", "-i", str(listing)]
    temporaries: list[tuple[Path, Path]] = []
    for selection, fmt, path in outputs:
        temporary = path.with_name(path.name + ".part")
        temporaries.append((temporary, path))
        args += [*selection, "-c", "copy", *fmt.options, "-f", fmt.muxer, str(temporary)]
    log = listing.with_suffix(".join.log")
    process = _spawn(ffmpeg, args, log)
    try:
        code = process.wait()
    finally:
        _reap(process, graceful=False)
    if code != 0:
        raise MediaError(f"joining segments failed: {_stderr_tail(log) or f'exit code {code}'}")
    for temporary, path in temporaries:
        os.replace(temporary, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _output(video: Path | None, audio: Path | None) -> Output:
    main = video if video is not None else audio
    assert main is not None
    measured = probe(main)
    return Output(
        video=video,
        audio=audio,
        duration_s=measured.duration_s,
        size=measured.size,
        sha256=_sha256(main),
    )
