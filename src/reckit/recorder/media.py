"""Capture real, playable media with FFmpeg, with pause/resume, and measure what was written.

Each capturing stretch (from start or resume to pause or stop) is one FFmpeg process writing one
Matroska segment: Matroska stays readable when FFmpeg is killed mid-write, so a crash loses
seconds, not the recording. Paused time is simply not recorded. stop() joins the segments with
the concat demuxer and stream copy (no re-encoding), so every segment is encoded with the final
codecs from the start.

FFmpeg runs as a child process, not in-process: a codec crash cannot take the service down, and
several recordings spread over the cores. The child dies with its parent (PR_SET_PDEATHSIG), and
stop()/abort() always reap it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from reckit.recorder.probe import ProbeError, probe

VIDEO_CODECS = ("H264", "VP8", "VP9")
AUDIO_CODECS = ("AAC", "MP3")
CHANNELS = {"mono": 1, "stereo": 2}
POSITIONS = ("left top", "right top", "left bottom", "right bottom")
MAX_SIDE = 1920
SAMPLE_RATE = 48000  # Opus only takes 48 kHz; every other codec here is fine with it.
STOP_TIMEOUT_S = 15.0  # how long FFmpeg gets to flush and write its trailer after "q"
# How long start()/resume() wait for FFmpeg to write media. Starting takes a moment (more on a
# busy box, or to reach a network source) and records nothing meanwhile: returning only once data
# flows means the caller's idea of "capturing since" matches the file. A source slower than this
# is left to failure() to report.
START_WAIT_S = 5.0
# Encoders share a 2-core box with other recordings: a couple of threads each is enough.
ENCODER_THREADS = "2"
FAILURE_MAX_CHARS = 300


class MediaError(Exception):
    """A capture could not produce a file, or was used in an order that makes no sense."""


@dataclass(frozen=True)
class VideoSpec:
    codec: str = "H264"  # "H264" | "VP8" | "VP9"
    width: int = 1280  # 1..1920; made even (see even_size)
    height: int = 720  # 1..1920
    export_file: bool = True
    watermark: Path | None = None  # a local image file
    watermark_width: int | None = None
    watermark_height: int | None = None
    watermark_position: str = "left top"
    fps: int = 25

    def __post_init__(self) -> None:
        if self.codec not in VIDEO_CODECS:
            raise ValueError(f"video codec must be one of {VIDEO_CODECS}, not {self.codec!r}")
        for side in (self.width, self.height):
            if not 1 <= side <= MAX_SIDE:
                raise ValueError(f"video width and height must be 1..{MAX_SIDE}, not {side}")
        if self.watermark_position not in POSITIONS:
            raise ValueError(f"watermark position must be one of {POSITIONS}")
        for mark_side in (self.watermark_width, self.watermark_height):
            if mark_side is not None and mark_side < 1:
                raise ValueError("watermark width and height must be positive")
        if not 1 <= self.fps <= 60:
            raise ValueError("fps must be 1..60")


@dataclass(frozen=True)
class AudioSpec:
    codec: str = "AAC"  # "AAC" | "MP3"; becomes Vorbis when the video is VP8/VP9
    channel: str = "stereo"  # "mono" | "stereo"
    export_file: bool = True  # also write a separate audio-only file

    def __post_init__(self) -> None:
        if self.codec not in AUDIO_CODECS:
            raise ValueError(f"audio codec must be one of {AUDIO_CODECS}, not {self.codec!r}")
        if self.channel not in CHANNELS:
            raise ValueError(f"audio channel must be one of {tuple(CHANNELS)}")


@dataclass(frozen=True)
class Source:
    """Any FFmpeg input (file path, rtmp://, rtsp://, http(s) HLS); None means synthetic: a
    moving test pattern and a tone, produced in real time."""

    url: str | None = None


@dataclass(frozen=True)
class Output:
    video: Path | None
    audio: Path | None
    duration_s: float  # measured from the file
    size: int  # bytes of `video`, or of `audio` when there is no video
    sha256: str  # of that same file


@dataclass(frozen=True)
class _Format:
    extension: str
    muxer: str
    options: tuple[str, ...] = ()


_FASTSTART = ("-movflags", "+faststart")  # index first, so players can start before the end
_MP4 = _Format(".mp4", "mp4", _FASTSTART)
_WEBM = _Format(".webm", "webm")
_AUDIO_FORMATS = {
    "aac": _Format(".m4a", "ipod", _FASTSTART),
    "mp3": _Format(".mp3", "mp3"),
    "vorbis": _Format(".ogg", "ogg"),
}


def video_extension(video: VideoSpec) -> str:
    return _video_format(video).extension


def audio_extension(video: VideoSpec, audio: AudioSpec) -> str:
    return _AUDIO_FORMATS[_audio_codec(video, audio)].extension


def even_size(video: VideoSpec) -> tuple[int, int]:
    """The frame size actually written: H.264 in yuv420p (what browsers play) needs even sides,
    so an odd side is rounded down (1 becomes 2). The same for every codec, for one rule."""
    return max(2, video.width - video.width % 2), max(2, video.height - video.height % 2)


def ffmpeg_executable(explicit: str | None = None) -> str:
    """The FFmpeg to run: the argument, else $RECKIT_FFMPEG, else the one in imageio-ffmpeg."""
    if explicit:
        return explicit
    from_env = os.environ.get("RECKIT_FFMPEG")
    if from_env:
        return from_env
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _video_format(video: VideoSpec) -> _Format:
    return _MP4 if video.codec == "H264" else _WEBM


def _audio_codec(video: VideoSpec, audio: AudioSpec) -> str:
    # WebM only carries Vorbis or Opus; Cloudflare documents Vorbis for VP8/VP9 recordings.
    if video.codec in ("VP8", "VP9"):
        return "vorbis"
    return "aac" if audio.codec == "AAC" else "mp3"


_AUDIO_ENCODERS = {
    "aac": ("-c:a", "aac", "-b:a", "128k"),
    "mp3": ("-c:a", "libmp3lame", "-b:a", "128k"),
    "vorbis": ("-c:a", "libvorbis", "-q:a", "4"),
    "opus": ("-c:a", "libopus", "-b:a", "64k"),
}


def _video_encoder(video: VideoSpec) -> list[str]:
    width, height = even_size(video)
    # A keyframe every 2 s: players can seek, and a damaged stretch heals quickly.
    gop = ["-g", str(video.fps * 2)]
    if video.codec == "H264":
        return [
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", "23",
            "-threads", ENCODER_THREADS, *gop,
        ]  # fmt: skip
    # libvpx's default 256 kb/s is far too little at 720p: about 0.1 bit per pixel.
    bitrate = max(150_000, int(width * height * video.fps * 0.1))
    encoder = "libvpx" if video.codec == "VP8" else "libvpx-vp9"
    options = [
        "-c:v", encoder, "-deadline", "realtime", "-cpu-used", "8", "-b:v", str(bitrate),
        "-threads", ENCODER_THREADS, *gop,
    ]  # fmt: skip
    if video.codec == "VP9":
        options += ["-row-mt", "1"]
    return options


def _is_local_file(url: str) -> bool:
    return "://" not in url or url.startswith("file:")


def _needs_pacing(url: str) -> bool:
    # A file, or HLS over HTTP, would otherwise be read as fast as the disk or network allows;
    # rtmp/rtsp arrive in real time by themselves.
    return _is_local_file(url) or url.startswith(("http://", "https://"))


# Read at real speed from the first packet. Plain -re first reads half a second in a burst, so
# each segment would hold that much more than the time it ran; FFmpeg takes a burst of 0 as "the
# default", hence a millisecond. Pacing after decoding (the realtime filter) is no better for
# a file: the frames queued between demuxer and filter come out after "q", at real speed.
_READ_IN_REAL_TIME = ("-readrate", "1", "-readrate_initial_burst", "0.001")


def _source_input(url: str) -> list[str]:
    pacing = _READ_IN_REAL_TIME if _needs_pacing(url) else ()
    # A file loops, so a short one behaves as a live source that never runs out.
    loop = ("-stream_loop", "-1") if _is_local_file(url) else ()
    return [*pacing, *loop, "-i", url]


# The generators are paced inside their own graph, where nothing queues ahead of the pacing.
def _synthetic_video(width: int, height: int, fps: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps},realtime"]


def _synthetic_audio(frequency: int) -> list[str]:
    source = f"sine=frequency={frequency}:sample_rate={SAMPLE_RATE},arealtime"
    return ["-f", "lavfi", "-i", source]


def _overlay_xy(position: str) -> str:
    horizontal, vertical = position.split()
    x = "0" if horizontal == "left" else "main_w-overlay_w"
    y = "0" if vertical == "top" else "main_h-overlay_h"
    return f"{x}:{y}"


def _watermark_scale(video: VideoSpec) -> str:
    width, height = video.watermark_width, video.watermark_height
    if width is None and height is None:
        return "null"
    # One side given: keep the image's aspect ratio for the other.
    return f"scale={width if width is not None else -1}:{height if height is not None else -1}"


# The muxer holds a whole cluster in memory (up to 5 s by default) and the file layer buffers
# too: short clusters, flushed as they are written, keep what a kill loses to about a second.
_SEGMENT_MUXER = ("-flush_packets", "1", "-cluster_time_limit", "1000", "-f", "matroska")


def _composite_args(source: Source, video: VideoSpec, audio: AudioSpec, segment: Path) -> list[str]:
    width, height = even_size(video)
    inputs: list[str] = []
    maps: list[str] = []
    filters = ""
    if source.url is None:
        if video.export_file:
            inputs += _synthetic_video(width, height, video.fps)
        audio_input = 1 if video.export_file else 0
        inputs += _synthetic_audio(440)
        video_label = "0:v"
        audio_map = f"{audio_input}:a"
    else:
        inputs += _source_input(source.url)
        video_label = "0:v:0"
        # A source without sound still records its picture.
        audio_map = "0:a:0?"
    encoders: list[str] = []
    if video.export_file:
        # Letterbox instead of stretching when the source has another aspect ratio.
        filters = (
            f"[{video_label}]fps={video.fps},"
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1"
        )
        if video.watermark is not None:
            watermark_input = inputs.count("-i")
            inputs += ["-i", str(video.watermark)]
            filters += (
                f"[base];[{watermark_input}:v]{_watermark_scale(video)}[mark];"
                f"[base][mark]overlay={_overlay_xy(video.watermark_position)}"
            )
        filters += ",format=yuv420p[v]"
        maps += ["-map", "[v]"]
        encoders += _video_encoder(video)
    maps += ["-map", audio_map]
    encoders += [*_AUDIO_ENCODERS[_audio_codec(video, audio)]]
    encoders += ["-ac", str(CHANNELS[audio.channel]), "-ar", str(SAMPLE_RATE)]
    graph = ["-filter_complex", filters] if filters else []
    return [*inputs, *graph, *maps, *encoders, *_SEGMENT_MUXER, str(segment)]


def _track_args(source: Source, frequency: int, segment: Path) -> list[str]:
    inputs = _synthetic_audio(frequency) if source.url is None else _source_input(source.url)
    return [
        *inputs, "-map", "0:a:0", "-vn", *_AUDIO_ENCODERS["opus"],
        "-ar", str(SAMPLE_RATE),
        *_SEGMENT_MUXER, str(segment),
    ]  # fmt: skip


# --- processes ---------------------------------------------------------------------------------

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
        ffmpeg, "-hide_banner", "-nostats", "-stats_period", "0.05", "-loglevel", "error", "-y",
        *args,
    ]  # fmt: skip
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
    """One output's FFmpeg processes: one Matroska segment per capturing stretch."""

    def __init__(
        self, ffmpeg: str, parts: Path, label: str, build: Callable[[Path], list[str]]
    ) -> None:
        self._ffmpeg = ffmpeg
        self._parts = parts
        self.label = label
        self._build = build
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._failure: str | None = None
        # Survives into later segments, to say why stop() found nothing usable.
        self.last_failure: str | None = None
        self.files: list[Path] = []

    def begin(self) -> None:
        if self._process is not None:
            return
        number = len(self.files) + 1
        segment = self._parts / f"{self.label}-{number:03d}.mkv"
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


class _State(Enum):
    NEW = "new"
    CAPTURING = "capturing"
    PAUSED = "paused"
    STOPPED = "stopped"
    ABORTED = "aborted"


class _Capture:
    """The state machine shared by both captures, over one _Segments per output."""

    def __init__(self, work_dir: Path, parts_name: str) -> None:
        self._work_dir = work_dir
        self._parts = work_dir / parts_name
        self._state = _State.NEW
        self._outputs: dict[str, _Segments] = {}

    def start(self) -> None:
        if self._state is _State.NEW:
            self._parts.mkdir(parents=True, exist_ok=True)
            self._begin()
        elif self._state is _State.PAUSED:
            self._begin()
        elif self._state in (_State.STOPPED, _State.ABORTED):
            raise MediaError(f"cannot start a capture that is {self._state.value}")

    def pause(self) -> None:
        if self._state is _State.CAPTURING:
            self._end()
            self._state = _State.PAUSED

    def resume(self) -> None:
        if self._state is _State.NEW:
            raise MediaError("cannot resume a capture that has not started")
        self.start()

    def abort(self) -> None:
        for segments in self._outputs.values():
            segments.kill()
        if self._state is not _State.STOPPED:
            self._state = _State.ABORTED

    def failure(self) -> str | None:
        if self._state is not _State.CAPTURING:
            return None
        for key, segments in self._outputs.items():
            reason = segments.failure()
            if reason is not None:
                return self._describe(key, reason)
        return None

    def _describe(self, key: str, reason: str) -> str:
        return reason

    def _finish(self) -> None:
        if self._state is _State.NEW:
            raise MediaError("cannot stop a capture that has not started")
        if self._state is _State.ABORTED:
            raise MediaError("cannot stop a capture that was aborted")
        self._end()

    def _begin(self) -> None:
        try:
            for segments in self._outputs.values():
                segments.begin()
        except OSError as exc:
            self.abort()
            raise MediaError(f"cannot run FFmpeg: {exc}") from exc
        self._state = _State.CAPTURING
        deadline = time.monotonic() + START_WAIT_S
        for segments in self._outputs.values():
            segments.wait_started(deadline)

    def _end(self) -> None:
        for segments in self._outputs.values():
            segments.end()

    def _cleanup(self) -> None:
        shutil.rmtree(self._parts, ignore_errors=True)

    def __del__(self) -> None:
        # Safety net for a capture dropped without stop/abort; killing is all that is left.
        with contextlib.suppress(Exception):
            for segments in self._outputs.values():
                segments.kill()


class CompositeCapture(_Capture):
    """The composite recording: one video file (picture and sound) and optionally a separate
    audio file, or only the audio file when the video is not exported."""

    def __init__(
        self,
        source: Source,
        video: VideoSpec,
        audio: AudioSpec,
        work_dir: Path,
        name: str,
        ffmpeg: str | None = None,
    ) -> None:
        if not video.export_file and not audio.export_file:
            raise MediaError("neither a video nor an audio file is exported: nothing to record")
        if video.watermark is not None and not video.watermark.is_file():
            raise MediaError(f"watermark image {video.watermark} is not a file")
        super().__init__(work_dir, f".{name}.parts")
        self._video = video
        self._audio = audio
        self._name = name
        self._ffmpeg = ffmpeg_executable(ffmpeg)
        self._result: Output | None = None
        self._outputs["composite"] = _Segments(
            self._ffmpeg,
            self._parts,
            "composite",
            lambda segment: _composite_args(source, video, audio, segment),
        )

    def stop(self) -> Output:
        if self._result is not None:
            return self._result
        self._finish()
        self._state = _State.STOPPED
        segments = self._outputs["composite"]
        usable = segments.usable()
        if not usable:
            reason = segments.last_failure or "no usable segment"
            raise MediaError(f"nothing was captured: {reason}")
        has_audio = probe(usable[0]).audio_codec is not None
        listing = _concat_list(self._parts, "composite", usable)
        outputs: list[tuple[list[str], _Format, Path]] = []
        video_path = audio_path = None
        if self._video.export_file:
            fmt = _video_format(self._video)
            video_path = self._work_dir / (self._name + fmt.extension)
            outputs.append((["-map", "0"], fmt, video_path))
        if self._audio.export_file and has_audio:
            fmt = _AUDIO_FORMATS[_audio_codec(self._video, self._audio)]
            audio_path = self._work_dir / (self._name + fmt.extension)
            outputs.append((["-map", "0:a:0", "-vn"], fmt, audio_path))
        if not outputs:
            raise MediaError("the source has no audio, and only the audio file is exported")
        _join(self._ffmpeg, listing, outputs)
        self._result = _output(video_path, audio_path)
        self._cleanup()
        return self._result


class TrackCapture(_Capture):
    """One audio-only WebM (Opus) per participant source, each from its own FFmpeg, so one
    failing source does not cut the others."""

    def __init__(
        self,
        sources: dict[str, Source],
        work_dir: Path,
        name_for: Callable[[str], str],
        ffmpeg: str | None = None,
    ) -> None:
        if not sources:
            raise MediaError("no sources to record")
        names = {key: name_for(key) for key in sources}
        if len(set(names.values())) != len(names):
            raise MediaError("two sources would be written to the same file name")
        super().__init__(work_dir, f".{next(iter(names.values()))}.tracks")
        self._names = names
        self._ffmpeg = ffmpeg_executable(ffmpeg)
        self._result: dict[str, Output] | None = None
        for index, (key, source) in enumerate(sources.items()):
            # Each synthetic participant gets its own tone, so tracks are told apart by ear.
            frequency = 330 + 110 * index
            self._outputs[key] = _Segments(
                self._ffmpeg,
                self._parts,
                f"track{index}",
                _track_builder(source, frequency),
            )

    def _describe(self, key: str, reason: str) -> str:
        return f"track {key}: {reason}"

    def stop(self) -> dict[str, Output]:
        if self._result is not None:
            return self._result
        self._finish()
        self._state = _State.STOPPED
        result: dict[str, Output] = {}
        for key, segments in self._outputs.items():
            usable = segments.usable()
            if not usable:
                reason = segments.last_failure or "no usable segment"
                raise MediaError(f"nothing was captured for track {key}: {reason}")
            listing = _concat_list(self._parts, segments.label, usable)
            path = self._work_dir / (self._names[key] + _WEBM.extension)
            _join(self._ffmpeg, listing, [(["-map", "0:a:0"], _WEBM, path)])
            result[key] = _output(None, path)
        self._result = result
        self._cleanup()
        return result


def _track_builder(source: Source, frequency: int) -> Callable[[Path], list[str]]:
    return lambda segment: _track_args(source, frequency, segment)
