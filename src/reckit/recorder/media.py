"""Capture real, playable media with FFmpeg, with pause/resume, and measure what was written.

Each capturing stretch (from start or resume to pause or stop) is one FFmpeg process writing one
Matroska segment: Matroska stays readable when FFmpeg is killed mid-write, so a crash loses
seconds, not the recording. Paused time is simply not recorded. stop() joins the segments with
the concat demuxer and stream copy (no re-encoding), so every segment is encoded with the final
codecs from the start.

FFmpeg runs as a child process, not in-process: a codec crash cannot take the service down, and
several recordings spread over the cores. The child dies with its parent (PR_SET_PDEATHSIG), and
stop()/abort() always reap it.

A capture made over a directory that already holds segments (an earlier run of the recorder
died mid-capture) carries on from them: it starts out paused, resume() adds segments after the
existing ones, and stop() joins them all.

The captures' parts live beside them: specs.py (what is asked for and given back),
ffmpeg_args.py (the FFmpeg command lines) and processes.py (the FFmpeg processes, segments
and joining).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from reckit.recorder.ffmpeg_args import _composite_args, _track_builder, ffmpeg_executable
from reckit.recorder.probe import probe
from reckit.recorder.processes import _concat_list, _join, _output, _Segments
from reckit.recorder.specs import (
    _AUDIO_FORMATS,
    _WEBM,
    START_WAIT_S,
    AudioSpec,
    MediaError,
    Output,
    Source,
    VideoSpec,
    _audio_codec,
    _Format,
    _video_format,
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
        self._recovered = False

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

    def _adopt(self) -> None:
        """Called once every output is set up: segments found on disk mean a capture carried
        on from an earlier run, paused between its stretches."""
        if any(segments.files for segments in self._outputs.values()):
            self._parts.mkdir(parents=True, exist_ok=True)
            self._state = _State.PAUSED
            self._recovered = True

    @property
    def recovered(self) -> bool:
        """Whether segments from an earlier run were found when this capture was made."""
        return self._recovered

    def usable(self) -> bool:
        """Whether every output has at least one segment with media in it (probed), so stop()
        can make the files."""
        return all(segments.usable() for segments in self._outputs.values())

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
        build: Callable[[Path], list[str]] | None = None,
        segment_extension: str = ".mkv",
    ) -> None:
        """``build`` (with ``segment_extension``): another source's FFmpeg arguments for one
        segment (the page recorder's); the source's otherwise."""
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
            build or (lambda segment: _composite_args(source, video, audio, segment)),
            segment_extension,
        )
        self._adopt()

    def stop(self, keep_segments: bool = False) -> Output:
        """Join the segments into the final files. ``keep_segments`` leaves them on disk (the
        caller removes the directory), so a crash before the files are handed in can join them
        again."""
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
        if not keep_segments:
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
        self._adopt()

    def _describe(self, key: str, reason: str) -> str:
        return f"track {key}: {reason}"

    def stop(self, keep_segments: bool = False) -> dict[str, Output]:
        """As CompositeCapture.stop(), one file per source."""
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
        if not keep_segments:
            self._cleanup()
        return result
