"""What a capture is asked for and what it gives back: the video and audio specs, the source,
the measured output, the limits and timings the captures share, MediaError, and the container
format (extension, muxer) each spec is written in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def _video_format(video: VideoSpec) -> _Format:
    return _MP4 if video.codec == "H264" else _WEBM


def _audio_codec(video: VideoSpec, audio: AudioSpec) -> str:
    # WebM only carries Vorbis or Opus; Cloudflare documents Vorbis for VP8/VP9 recordings.
    if video.codec in ("VP8", "VP9"):
        return "vorbis"
    return "aac" if audio.codec == "AAC" else "mp3"
