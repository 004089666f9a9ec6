"""The page recorder: a recording with ``url`` captures that web page, picture and sound.

Its stage (page_browser.py) is its own Xvfb display, PulseAudio daemon and Chromium. Each
capturing stretch is one FFmpeg grabbing the display (x11grab) and the sink's monitor (pulse)
into one fragmented MP4 segment, so a kill leaves a playable file; pause ends the segment and
the browser carries on; the stop joins the segments (stream copy, ``+faststart``), as for a
composite recording (media.py ``CompositeCapture``, whose segments and joining this reuses).

Picture and sound in step: both grabbers stamp what they read with the wall clock, and the
segment keeps both stamps (``-copyts``) and cuts both at one instant chosen before FFmpeg starts
(``trim``/``atrim`` at T0, then T0 becomes 0), instead of FFmpeg's default of starting each
input at its own first packet, which put the picture 70-170 ms behind the sound here.

Start: when the page has loaded, or (``wait_for_start``) when it logs ``START_RECORDING`` on
the console. End: the recorder's job learns from ``ended()`` that the page logged
``END_RECORDING`` or that the browser died, and stops the recording with what was captured.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reckit.recorder.ffmpeg_args import audio_encoder, video_encoder
from reckit.recorder.media import CompositeCapture, _State
from reckit.recorder.page_browser import Navigation, PageError, Stage
from reckit.recorder.specs import (
    SAMPLE_RATE,
    AudioSpec,
    MediaError,
    Output,
    Source,
    VideoSpec,
    even_size,
)

log = logging.getLogger("reckit.recorder.page")

START_SIGNAL = "START_RECORDING"
END_SIGNAL = "END_RECORDING"
# RealtimeKit errors a recording whose recording app never starts within 2 minutes.
START_SIGNAL_TIMEOUT_S = 120.0
# How long after FFmpeg is spawned both grabbers are cut (T0): opening the display and the
# sink takes a few hundred milliseconds. Later on a busy machine, the file still counts from T0
# (its first frame a little after its start), so this is short: a resume costs this much.
LEAD_S = 0.5
DISPLAY_LAG_S = 0.060  # see _page_args
NAVIGATION = Navigation(timeout_s=30.0, tries=3, retry_delay_s=1.0)
# What one page recording costs (bench/page_recorder.py, 1280x720 at 25 fps on a 2-core
# machine: Chromium, Xvfb, PulseAudio and FFmpeg together), with room for a heavier page.
CORES_PER_PAGE = 1.5
# The query parameters a RealtimeKit recording app reads, added unless the URL has them.
APP_PARAMS = ("authToken", "apiBase", "meetingId", "recordingId")


def page_capacity(cores: int) -> int:
    """How many page recordings a node with ``cores`` CPUs takes at once: one at least."""
    return max(1, int(cores / CORES_PER_PAGE))


def shown(url: str) -> str:
    """The URL as a failure names it: scheme, host and path (no query: it may carry tokens)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def with_app_params(url: str, values: dict[str, str]) -> str:
    """``url`` with each of ``values`` appended to its query, unless the query has it."""
    parts = urlsplit(url)
    have = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [(key, value) for key, value in values.items() if key not in have]
    if not extra:
        return url
    query = parts.query + ("&" if parts.query else "") + urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class PageSpec:
    url: str  # as the start body gave it
    params: dict[str, str] = field(default_factory=dict)  # appended unless present
    wait_for_start: bool = False
    navigation: Navigation | None = None  # None: NAVIGATION
    start_timeout_s: float | None = None  # None: START_SIGNAL_TIMEOUT_S

    @property
    def full_url(self) -> str:
        return with_app_params(self.url, self.params)


def new_auth_token() -> str:
    """An opaque token per recording, for pages that expect ``authToken``: reckit has no
    participant tokens, so it authorises nothing."""
    return secrets.token_urlsafe(24)


# Both grabbers open without probing (their formats are known): the segment starts sooner.
_QUICK_OPEN = ("-thread_queue_size", "1024", "-probesize", "32", "-analyzeduration", "0")


def _page_args(
    display: str, pulse: str, video: VideoSpec, audio: AudioSpec, t0: float, segment: Path
) -> list[str]:
    width, height = even_size(video)
    cut = f"{t0:.6f}"
    # What the display shows lags what the page drew (the browser's compositing, the grab):
    # measured 20-100 ms behind the sound, more at larger sizes and on a busy machine
    # (bench/page_recorder.py). The picture is cut DISPLAY_LAG_S later than the sound, the
    # middle of that range.
    shown_cut = f"{t0 + DISPLAY_LAG_S:.6f}"
    graph = (
        f"[0:v]trim=start={shown_cut},setpts=PTS-{shown_cut}/TB,format=yuv420p[v];"
        # Small jumps in the sink's timestamps are smoothed into the samples; the sound stays
        # on the wall clock.
        f"[1:a]aresample=async=1:min_hard_comp=0.05,atrim=start={cut},asetpts=PTS-{cut}/TB[a]"
    )
    return [
        "-copyts",
        *_QUICK_OPEN,
        "-f",
        "x11grab",
        "-draw_mouse",
        "0",
        "-framerate",
        str(video.fps),
        "-video_size",
        f"{width}x{height}",
        "-i",
        f"{display}.0+0,0",
        *_QUICK_OPEN,
        "-f",
        "pulse",
        "-server",
        pulse,
        # 10 ms reads: the sink's timestamps are as fine, where PulseAudio's default reads
        # (up to 2 s) stamped the sound 50-150 ms off.
        "-fragment_size",
        str(SAMPLE_RATE // 100 * 2 * 2),
        "-sample_rate",
        str(SAMPLE_RATE),
        "-channels",
        "2",
        "-i",
        "reckit.monitor",
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-map",
        "[a]",
        # A keyframe a second: a fragment a second, so a kill loses about that much.
        *video_encoder(video, keyframe_every_s=1),
        "-fps_mode",
        "cfr",
        "-r",
        str(video.fps),
        *audio_encoder(video, audio),
        "-flush_packets",
        "1",
        "-movflags",
        "+frag_keyframe+empty_moov+default_base_moof",
        "-f",
        "mp4",
        str(segment),
    ]


class PageCapture(CompositeCapture):
    """A composite capture whose source is a web page (see the module's docstring)."""

    def __init__(
        self,
        page: PageSpec,
        video: VideoSpec,
        audio: AudioSpec,
        work_dir: Path,
        name: str,
        ffmpeg: str | None = None,
    ) -> None:
        if video.codec != "H264" or audio.codec != "AAC":
            raise MediaError("a page recording is H.264 with AAC only")
        self._page = page
        self._spec_video = video
        self._spec_audio = audio
        self._stage: Stage | None = None
        self._stage_dir = work_dir / "stage"
        self._signals: list[str] = []
        self._signalled = threading.Condition()
        self._t0 = 0.0
        super().__init__(
            Source(None),
            video,
            audio,
            work_dir,
            name,
            ffmpeg,
            build=self._args,
            segment_extension=".mp4",
        )

    def _args(self, segment: Path) -> list[str]:
        assert self._stage is not None
        self._t0 = time.time() + LEAD_S
        return _page_args(
            self._stage.display,
            self._stage.pulse_server,
            self._spec_video,
            self._spec_audio,
            self._t0,
            segment,
        )

    def _console(self, message: str) -> None:
        if message in (START_SIGNAL, END_SIGNAL):
            log.info("the page signalled %s", message)
            with self._signalled:
                self._signals.append(message)
                self._signalled.notify_all()

    def _show(self, wait_for_start: bool) -> None:
        """The stage up and the page loaded (and, if asked, its start signal received)."""
        if self._stage is not None and self._stage.alive():
            return
        if self._stage is not None:
            self._stage.close()
        width, height = even_size(self._spec_video)
        stage = Stage(self._stage_dir, width, height, self._console)
        self._stage = stage
        stage.open()
        how = NAVIGATION if self._page.navigation is None else self._page.navigation
        stage.navigate(self._page.full_url, shown(self._page.url), how)
        if wait_for_start:
            timeout = self._page.start_timeout_s or START_SIGNAL_TIMEOUT_S
            with self._signalled:
                got = self._signalled.wait_for(
                    lambda: START_SIGNAL in self._signals or not stage.alive(), timeout
                )
            if not got:
                raise PageError(f"the page never logged {START_SIGNAL} within {timeout:g} s")
            if not stage.alive():
                raise PageError("the browser died before the page started the recording")

    def start(self) -> None:
        try:
            if self._state is _State.NEW:
                self._show(self._page.wait_for_start)
            super().start()
        except BaseException:
            self.abort()
            raise

    def _begin(self) -> None:
        # A resume after the browser died, or a capture carried on from an earlier run: the
        # page is shown afresh first (without waiting for its start signal again).
        self._show(False)
        # Not the composite's wait for media in the file: FFmpeg writes its first fragment only
        # once the first frames after T0 are encoded (a busy machine took a second), and the
        # file's clock starts at T0 whatever came first. So the capture counts from T0.
        try:
            for segments in self._outputs.values():
                segments.begin()
        except OSError as exc:
            self.abort()
            raise MediaError(f"cannot run FFmpeg: {exc}") from exc
        self._state = _State.CAPTURING
        time.sleep(max(0.0, self._t0 - time.time()))

    @property
    def browser_pid(self) -> int | None:
        return self._stage.browser_pid if self._stage is not None else None

    def ended(self) -> str | None:
        """Why the page's recording is over although nobody stopped it: the page logged
        ``END_RECORDING``, or the browser died (what was captured is kept). None otherwise."""
        if self._stage is None:
            return None
        with self._signalled:
            if END_SIGNAL in self._signals:
                return f"the page logged {END_SIGNAL}"
        if not self._stage.alive():
            return "the browser died"
        return None

    def stop(self, keep_segments: bool = False) -> Output:
        try:
            return super().stop(keep_segments)
        finally:
            self._close_stage()

    def abort(self) -> None:
        super().abort()
        self._close_stage()

    def _close_stage(self) -> None:
        stage, self._stage = self._stage, None
        if stage is not None:
            stage.close()
