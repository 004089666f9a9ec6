"""The media engine against the real FFmpeg: files are captured, then measured with PyAV.

Durations are compared with the time the capture actually ran (measured around the calls), with
a generous tolerance: the check is that paused time is left out, not how fast the box is.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import av
import pytest

from reckit.recorder.ffmpeg_args import ffmpeg_executable
from reckit.recorder.media import CompositeCapture, TrackCapture
from reckit.recorder.probe import Probe, ProbeError, probe
from reckit.recorder.specs import (
    AudioSpec,
    MediaError,
    Output,
    Source,
    VideoSpec,
    audio_extension,
    even_size,
    video_extension,
)

pytestmark = pytest.mark.slow  # real FFmpeg captures: up to 6 s a test

SMALL = VideoSpec(width=160, height=120)
TOLERANCE_S = 1.0


def _children() -> set[int]:
    """This process's children, zombies included (a zombie is exactly what must not be left)."""
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is parenthesised and may hold spaces: the fields after it are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me:
            found.add(int(entry))
    return found


@pytest.fixture
def no_leftover_processes() -> Callable[[], None]:
    before = _children()

    def check() -> None:
        assert _children() - before == set()

    return check


def _capture(capture: CompositeCapture, seconds: float) -> float:
    """Run one capturing stretch; the time it really ran, from start/resume to pause/stop."""
    began = time.monotonic()
    time.sleep(seconds)
    assert capture.failure() is None
    return time.monotonic() - began


def _assert_file(output: Output, path: Path | None) -> Probe:
    assert path is not None
    assert path.is_file()
    data = path.read_bytes()
    assert output.size == len(data)
    assert output.sha256 == hashlib.sha256(data).hexdigest()
    return probe(path)


@pytest.mark.parametrize(("channel", "channels"), [("stereo", 2), ("mono", 1)])
def test_h264_aac_with_pause_leaves_the_pause_out(
    tmp_path: Path, channel: str, channels: int, no_leftover_processes: Callable[[], None]
) -> None:
    capture = CompositeCapture(Source(), SMALL, AudioSpec(channel=channel), tmp_path, "rec")
    capture.start()
    captured = _capture(capture, 1.5)
    capture.pause()
    time.sleep(2.0)
    capture.resume()
    captured += _capture(capture, 1.5)
    output = capture.stop()

    assert output.video == tmp_path / "rec.mp4"
    assert output.audio == tmp_path / "rec.m4a"
    video = _assert_file(output, output.video)
    assert abs(output.duration_s - captured) <= TOLERANCE_S
    assert output.duration_s == pytest.approx(video.duration_s)
    assert (video.video_codec, video.width, video.height) == ("h264", 160, 120)
    assert (video.audio_codec, video.channels) == ("aac", channels)
    assert video.container.startswith("mov,mp4")

    assert output.audio is not None
    audio = probe(output.audio)
    assert (audio.audio_codec, audio.channels, audio.video_codec) == ("aac", channels, None)
    assert abs(audio.duration_s - captured) <= TOLERANCE_S
    # The segments were joined and removed; only the final files remain.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.m4a", "rec.mp4"]
    no_leftover_processes()


@pytest.mark.parametrize(("codec", "name"), [("VP8", "vp8"), ("VP9", "vp9")])
def test_vp8_vp9_are_webm_with_vorbis(tmp_path: Path, codec: str, name: str) -> None:
    video_spec = replace(SMALL, codec=codec)
    capture = CompositeCapture(Source(), video_spec, AudioSpec(codec="AAC"), tmp_path, "rec")
    capture.start()
    captured = _capture(capture, 2.0)
    output = capture.stop()

    assert video_extension(video_spec) == ".webm"
    assert output.video == tmp_path / "rec.webm"
    video = _assert_file(output, output.video)
    assert (video.video_codec, video.audio_codec, video.channels) == (name, "vorbis", 2)
    assert (video.width, video.height) == (160, 120)
    assert video.container == "matroska,webm"
    assert abs(output.duration_s - captured) <= TOLERANCE_S
    assert output.audio == tmp_path / "rec.ogg"
    assert probe(output.audio).audio_codec == "vorbis"


def test_mp3_audio_and_stop_while_paused(
    tmp_path: Path, no_leftover_processes: Callable[[], None]
) -> None:
    spec = AudioSpec(codec="MP3", channel="mono")
    capture = CompositeCapture(Source(), SMALL, spec, tmp_path, "rec")
    capture.start()
    capture.start()  # already capturing: nothing happens
    captured = _capture(capture, 2.0)
    capture.pause()
    capture.pause()  # already paused: nothing happens
    output = capture.stop()  # paused: only finalizes

    assert capture.stop() is output
    assert output.audio == tmp_path / "rec.mp3"
    audio = probe(output.audio)
    assert (audio.audio_codec, audio.channels, audio.container) == ("mp3", 1, "mp3")
    assert abs(audio.duration_s - captured) <= TOLERANCE_S
    video = _assert_file(output, output.video)
    assert (video.video_codec, video.audio_codec) == ("h264", "mp3")
    no_leftover_processes()


def test_audio_only_composite(tmp_path: Path) -> None:
    spec = replace(SMALL, export_file=False)
    capture = CompositeCapture(Source(), spec, AudioSpec(), tmp_path, "rec")
    capture.start()
    _capture(capture, 1.5)
    output = capture.stop()

    assert output.video is None
    measured = _assert_file(output, output.audio)
    assert (measured.video_codec, measured.audio_codec) == (None, "aac")


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("clip")
    capture = CompositeCapture(
        Source(), VideoSpec(width=320, height=240), AudioSpec(export_file=False), work, "clip"
    )
    capture.start()
    time.sleep(1.5)
    output = capture.stop()
    assert output.video is not None
    return output.video


def test_file_source_loops_in_real_time(tmp_path: Path, short_clip: Path) -> None:
    clip_length = probe(short_clip).duration_s
    capture = CompositeCapture(Source(url=str(short_clip)), SMALL, AudioSpec(), tmp_path, "copy")
    capture.start()
    captured = _capture(capture, 3.0)
    output = capture.stop()

    video = _assert_file(output, output.video)
    # Longer than the clip: it looped, as a live source would keep going.
    assert clip_length < captured
    assert abs(video.duration_s - captured) <= TOLERANCE_S
    assert (video.video_codec, video.width, video.height, video.audio_codec) == (
        "h264",
        160,
        120,
        "aac",
    )


def _frames_rgb(path: Path) -> list[tuple[bytes, int]]:
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.reformat(format="rgb24").planes[0]
            frames.append((bytes(plane), plane.line_size))
    return frames


def test_watermark_is_drawn_in_its_corner(tmp_path: Path) -> None:
    mark = tmp_path / "mark.png"
    subprocess.run(
        [
            ffmpeg_executable(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=red:size=80x60",
            "-frames:v",
            "1",
            str(mark),
        ],
        check=True,
    )
    spec = replace(SMALL, watermark=mark, watermark_width=40, watermark_position="right bottom")
    capture = CompositeCapture(Source(), spec, AudioSpec(export_file=False), tmp_path, "rec")
    capture.start()
    _capture(capture, 1.5)
    output = capture.stop()

    assert output.audio is None
    assert output.video is not None
    video = _assert_file(output, output.video)
    assert (video.width, video.height) == (160, 120)
    frames = _frames_rgb(output.video)
    # The image is a single frame: it must stay on to the end, not only at the start.
    for pixels, stride in (frames[0], frames[-1]):

        def rgb(x: int, y: int, pixels: bytes = pixels, stride: int = stride) -> tuple[int, ...]:
            at = y * stride + x * 3
            return tuple(pixels[at : at + 3])

        # 40 wide keeps the image's 4:3, so 30 high, in the bottom right corner; sample inside
        # it, away from the edges where chroma subsampling blurs.
        for x, y in [(126, 96), (140, 105), (154, 114)]:
            red, green, blue = rgb(x, y)
            assert red > 200 and green < 60 and blue < 60, (x, y, rgb(x, y))
        # The test pattern elsewhere is not a flat red.
        samples = [rgb(x, y) for x in range(5, 100, 7) for y in (5, 50)]
        assert any(green > 60 or blue > 60 for _, green, blue in samples)


def test_tracks_are_opus_webm_per_source(
    tmp_path: Path, no_leftover_processes: Callable[[], None]
) -> None:
    capture = TrackCapture(
        {"alice": Source(), "bob": Source()}, tmp_path, lambda key: f"track-{key}"
    )
    captured = 0.0
    for stretch in range(2):
        if stretch:
            capture.resume()
        else:
            capture.start()
        began = time.monotonic()
        time.sleep(1.0)
        assert capture.failure() is None
        captured += time.monotonic() - began
        capture.pause()
    outputs = capture.stop()

    assert set(outputs) == {"alice", "bob"}
    for key, output in outputs.items():
        assert output.video is None
        assert output.audio == tmp_path / f"track-{key}.webm"
        track = _assert_file(output, output.audio)
        assert (track.audio_codec, track.video_codec, track.container) == (
            "opus",
            None,
            "matroska,webm",
        )
        assert abs(output.duration_s - captured) <= TOLERANCE_S
    assert outputs["alice"].sha256 != outputs["bob"].sha256
    no_leftover_processes()


def test_missing_source_reports_a_failure(
    tmp_path: Path, no_leftover_processes: Callable[[], None]
) -> None:
    missing = tmp_path / "nowhere.mp4"
    capture = CompositeCapture(Source(url=str(missing)), SMALL, AudioSpec(), tmp_path, "rec")
    capture.start()
    deadline = time.monotonic() + 15
    while (reason := capture.failure()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reason is not None
    assert "No such file or directory" in reason
    assert "\n" not in reason
    with pytest.raises(MediaError, match="nothing was captured"):
        capture.stop()
    no_leftover_processes()


def test_missing_track_source_names_the_track(tmp_path: Path) -> None:
    capture = TrackCapture(
        {"alice": Source(url=str(tmp_path / "nowhere.ogg"))}, tmp_path, lambda key: key
    )
    capture.start()
    deadline = time.monotonic() + 15
    while (reason := capture.failure()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reason is not None
    assert reason.startswith("track alice: ")
    capture.abort()


def test_abort_leaves_nothing_running(
    tmp_path: Path, no_leftover_processes: Callable[[], None]
) -> None:
    capture = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    capture.start()
    time.sleep(0.5)
    capture.abort()
    no_leftover_processes()
    capture.abort()  # twice is harmless
    with pytest.raises(MediaError, match="aborted"):
        capture.stop()
    with pytest.raises(MediaError, match="aborted"):
        capture.resume()


def test_a_killed_ffmpeg_loses_little(
    tmp_path: Path, no_leftover_processes: Callable[[], None]
) -> None:
    before = _children()
    capture = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    capture.start()
    (ffmpeg,) = _children() - before
    time.sleep(2.5)
    os.kill(ffmpeg, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while (reason := capture.failure()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reason is not None
    assert "code -9" in reason
    # What was written before the kill is still a recording.
    output = capture.stop()
    assert output.duration_s > 0
    assert probe(tmp_path / "rec.m4a").duration_s > 0
    no_leftover_processes()


def test_order_of_calls(tmp_path: Path) -> None:
    capture = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    capture.pause()  # not started: nothing to pause
    assert capture.failure() is None
    with pytest.raises(MediaError, match="not started"):
        capture.resume()
    with pytest.raises(MediaError, match="not started"):
        capture.stop()
    capture.abort()


def test_an_ffmpeg_that_cannot_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECKIT_FFMPEG", str(tmp_path / "no-ffmpeg"))
    assert ffmpeg_executable() == str(tmp_path / "no-ffmpeg")
    assert ffmpeg_executable("/opt/ffmpeg") == "/opt/ffmpeg"
    capture = CompositeCapture(Source(), SMALL, AudioSpec(), tmp_path, "rec")
    with pytest.raises(MediaError, match="cannot run FFmpeg"):
        capture.start()


def test_specs() -> None:
    assert video_extension(VideoSpec()) == ".mp4"
    assert video_extension(VideoSpec(codec="VP9")) == ".webm"
    assert audio_extension(VideoSpec(), AudioSpec(codec="MP3")) == ".mp3"
    assert audio_extension(VideoSpec(), AudioSpec()) == ".m4a"
    assert audio_extension(VideoSpec(codec="VP8"), AudioSpec(codec="MP3")) == ".ogg"
    assert even_size(VideoSpec(width=1, height=721)) == (2, 720)
    with pytest.raises(ValueError, match="codec"):
        VideoSpec(codec="AV1")
    with pytest.raises(ValueError, match="width and height"):
        VideoSpec(width=1921)
    with pytest.raises(ValueError, match="position"):
        VideoSpec(watermark_position="center")
    with pytest.raises(ValueError, match="channel"):
        AudioSpec(channel="5.1")
    with pytest.raises(MediaError, match="nothing to record"):
        CompositeCapture(
            Source(), VideoSpec(export_file=False), AudioSpec(export_file=False), Path(), "x"
        )


def test_probe_refuses_what_is_not_media(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not media at all")
    with pytest.raises(ProbeError):
        probe(junk)
    with pytest.raises(ProbeError):
        probe(tmp_path / "missing.mp4")
