"""Measure a media file with PyAV: what the recorder reports must come from the file itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import av.container


class ProbeError(Exception):
    """The file is missing or FFmpeg cannot read it as media."""


@dataclass(frozen=True)
class Probe:
    duration_s: float
    size: int
    video_codec: str | None  # FFmpeg codec name: "h264", "vp8", "vp9"
    width: int | None
    height: int | None
    audio_codec: str | None  # "aac", "mp3", "vorbis", "opus"
    channels: int | None
    container: str  # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "ogg"


def probe(path: Path) -> Probe:
    # Loaded on the first probe: FFmpeg's libraries are large, and a recorder that has not yet
    # made a file (or a server whose in-process recorder is idle) need not carry them.
    import av
    import av.error

    try:
        size = os.stat(path).st_size
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = _duration(container)
            return Probe(
                duration_s=duration,
                size=size,
                # The canonical name, not the decoder's: MP3 decodes with "mp3float".
                video_codec=video.codec_context.codec.canonical_name if video else None,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                audio_codec=audio.codec_context.codec.canonical_name if audio else None,
                channels=audio.codec_context.channels if audio else None,
                container=container.format.name,
            )
    except (OSError, av.error.FFmpegError) as exc:
        raise ProbeError(f"cannot probe {path}: {exc}") from exc


def _duration(container: av.container.InputContainer) -> float:
    import av

    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    # A file cut short by a kill has no duration in its header: read the packet timestamps,
    # which needs no decoding.
    start: float | None = None
    end = 0.0
    for packet in container.demux():
        if packet.pts is None or packet.time_base is None:
            continue
        t0 = float(packet.pts * packet.time_base)
        t1 = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        start = t0 if start is None else min(start, t0)
        end = max(end, t1)
    return max(0.0, end - (start or 0.0))
