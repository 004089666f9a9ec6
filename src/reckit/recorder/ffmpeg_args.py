"""The FFmpeg command lines: which FFmpeg to run, and the inputs, filters, encoders and
segment muxer for the composite and the per-participant tracks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from reckit.recorder.specs import (
    CHANNELS,
    ENCODER_THREADS,
    SAMPLE_RATE,
    AudioSpec,
    Source,
    VideoSpec,
    _audio_codec,
    even_size,
)


def ffmpeg_executable(explicit: str | None = None) -> str:
    """The FFmpeg to run: the argument, else $RECKIT_FFMPEG, else the one in imageio-ffmpeg."""
    if explicit:
        return explicit
    from_env = os.environ.get("RECKIT_FFMPEG")
    if from_env:
        return from_env
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


_AUDIO_ENCODERS = {
    "aac": ("-c:a", "aac", "-b:a", "128k"),
    "mp3": ("-c:a", "libmp3lame", "-b:a", "128k"),
    "vorbis": ("-c:a", "libvorbis", "-q:a", "4"),
    "opus": ("-c:a", "libopus", "-b:a", "64k"),
}


def video_encoder(video: VideoSpec, keyframe_every_s: int = 2) -> list[str]:
    """The encoder of ``video``'s codec. A keyframe every 2 s by default: players can seek, and
    a damaged stretch heals quickly."""
    width, height = even_size(video)
    gop = ["-g", str(video.fps * keyframe_every_s)]
    if video.codec == "H264":
        return [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-crf",
            "23",
            "-threads",
            ENCODER_THREADS,
            *gop,
        ]
    # libvpx's default 256 kb/s is far too little at 720p: about 0.1 bit per pixel.
    bitrate = max(150_000, int(width * height * video.fps * 0.1))
    encoder = "libvpx" if video.codec == "VP8" else "libvpx-vp9"
    options = [
        "-c:v",
        encoder,
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        str(bitrate),
        "-threads",
        ENCODER_THREADS,
        *gop,
    ]
    if video.codec == "VP9":
        options += ["-row-mt", "1"]
    return options


def audio_encoder(video: VideoSpec, audio: AudioSpec) -> list[str]:
    """The encoder of the composite's sound, with its channels and sample rate."""
    codec = _AUDIO_ENCODERS[_audio_codec(video, audio)]
    return [*codec, "-ac", str(CHANNELS[audio.channel]), "-ar", str(SAMPLE_RATE)]


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
        encoders += video_encoder(video)
    maps += ["-map", audio_map]
    encoders += audio_encoder(video, audio)
    graph = ["-filter_complex", filters] if filters else []
    return [*inputs, *graph, *maps, *encoders, *_SEGMENT_MUXER, str(segment)]


def _track_args(source: Source, frequency: int, segment: Path) -> list[str]:
    inputs = _synthetic_audio(frequency) if source.url is None else _source_input(source.url)
    return [
        *inputs,
        "-map",
        "0:a:0",
        "-vn",
        *_AUDIO_ENCODERS["opus"],
        "-ar",
        str(SAMPLE_RATE),
        *_SEGMENT_MUXER,
        str(segment),
    ]


def _track_builder(source: Source, frequency: int) -> Callable[[Path], list[str]]:
    return lambda segment: _track_args(source, frequency, segment)
