"""Web pages for the page recorder's tests and benchmark, served on 127.0.0.1:

- ``/av.html``: a moving box, and every 2 s a 1 kHz tone of 200 ms with a white flash of the
  whole page for as long. The flash follows the sound the browser is putting out
  (``AudioContext.getOutputTimestamp``), so the two start together at the page's output.
  ``?end=N``: the page logs ``END_RECORDING`` after N s; ``?start=N``: ``START_RECORDING``
  after N s.
- ``/error``: HTTP 500.
- ``/hang``: accepts the connection and never answers.

Also what the tests measure in a recorded file (PyAV): flash onsets from the frames' mean
luma, tone onsets from the audio's RMS, and how they line up.
"""

from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av

from tests.support.live import free_port

PERIOD_S = 2.0  # a flash and a tone every 2 s
PULSE_S = 0.2

AV_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>reckit page test</title>
<style>html,body{margin:0;height:100%;overflow:hidden;background:#202020}
#box{position:absolute;width:12vw;height:12vw;background:#e04040;top:40vh;left:0}
#flash{position:absolute;inset:0;background:#fff;display:none}</style></head>
<body><div id="box"></div><div id="flash"></div>
<script>
const q = new URLSearchParams(location.search);
const ctx = new AudioContext({sampleRate: 48000});
const box = document.getElementById("box"), flash = document.getElementById("flash");
const PERIOD = __PERIOD__, PULSE = __PULSE__;
let t0 = null;
function schedule() {
  // Beeps at t0 + k * PERIOD, scheduled a few seconds ahead on the audio clock.
  const until = ctx.currentTime + 4;
  while (schedule.next < until) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 1000; gain.gain.value = 0.5;
    osc.connect(gain).connect(ctx.destination);
    osc.start(schedule.next); osc.stop(schedule.next + PULSE);
    schedule.next += PERIOD;
  }
}
function frame(now) {
  box.style.left = ((now / 10) % (innerWidth - box.offsetWidth)) + "px";
  box.style.top = (30 + 20 * Math.sin(now / 700)) + "vh";
  if (t0 !== null) {
    // What the listener hears now: the audio clock at the output, not the one being computed.
    const out = ctx.getOutputTimestamp();
    const heard = out.contextTime + (now - out.performanceTime) / 1000;
    const phase = (heard - t0) % PERIOD;
    flash.style.display = heard >= t0 && phase < PULSE ? "block" : "none";
    schedule();
  }
  requestAnimationFrame(frame);
}
function begin() {
  if (ctx.state !== "running") { ctx.resume(); setTimeout(begin, 50); return; }
  t0 = Math.ceil(ctx.currentTime + 0.5); schedule.next = t0;
}
requestAnimationFrame(frame);
begin();
if (q.has("start")) setTimeout(() => console.log("START_RECORDING"), 1000 * +q.get("start"));
if (q.has("end")) setTimeout(() => console.log("END_RECORDING"), 1000 * +q.get("end"));
</script></body></html>
""".replace("__PERIOD__", str(PERIOD_S)).replace("__PULSE__", str(PULSE_S))


class Site:
    """The pages, served until ``close()``; ``seen`` keeps every request's path and query."""

    def __init__(self) -> None:
        self.port = free_port()
        self.seen: list[str] = []
        self._release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.seen.append(self.path)
                path = urlsplit(self.path).path
                if path == "/hang":
                    site._release.wait(600)
                    return
                if path == "/error":
                    self._send(500, b"<h1>the page broke</h1>")
                elif path == "/av.html":
                    self._send(200, AV_PAGE.encode())
                else:
                    self._send(404, b"not here")

            def _send(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def queries(self, path: str) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(p).query) for p in self.seen if urlsplit(p).path == path]

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


# --- measuring a recorded file ---------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    duration_s: float
    flashes: list[float]  # onset times (s, the file's clock) of the white flashes
    tones: list[float]  # onset times of the tones
    luma_spread: float  # how much the frames differ from each other (0: a still picture)
    rms: float  # of the whole sound track (0: silence)

    def offsets(self) -> list[float]:
        """Each flash's onset minus the nearest tone onset's (s): positive, picture late."""
        if not self.tones:
            return []
        out = []
        for flash in self.flashes:
            nearest = min(self.tones, key=lambda tone: abs(tone - flash))
            if abs(nearest - flash) < PERIOD_S / 2:
                out.append(flash - nearest)
        return out


def _onsets(times: list[float], values: list[float], threshold: float) -> list[float]:
    """Where the values cross ``threshold`` upwards, interpolated between the two samples;
    each crossing at least a period's half after the last."""
    out: list[float] = []
    for i in range(1, len(values)):
        if values[i - 1] < threshold <= values[i]:
            span = values[i] - values[i - 1]
            at = times[i - 1] + (times[i] - times[i - 1]) * (threshold - values[i - 1]) / span
            if not out or at - out[-1] > PERIOD_S / 2:
                out.append(at)
    return out


def small_gray(frame: av.VideoFrame) -> bytes:
    """The frame shrunk to 64x36 in 8-bit luma, row after row."""
    small = frame.reformat(width=64, height=36, format="gray")
    plane = small.planes[0]
    data = bytes(plane)
    return b"".join(data[r * plane.line_size : r * plane.line_size + 64] for r in range(36))


def measure(path: Path) -> Measured:
    frame_times: list[float] = []
    lumas: list[float] = []
    spreads: list[float] = []
    previous: bytes | None = None
    with av.open(str(path)) as container:
        duration = float(container.duration or 0) / av.time_base
        for frame in container.decode(container.streams.video[0]):
            if frame.pts is None or frame.time_base is None:
                continue
            gray = small_gray(frame)
            frame_times.append(float(frame.pts * frame.time_base))
            lumas.append(sum(gray) / len(gray))
            if previous is not None:
                moved = sum(abs(a - b) for a, b in zip(gray, previous, strict=True))
                spreads.append(moved / len(gray))
            previous = gray
    audio_times: list[float] = []
    levels: list[float] = []
    total_sq, total_n = 0, 0
    window = 240  # 5 ms at 48 kHz
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        stream = container.streams.audio[0]
        for decoded in container.decode(stream):
            for chunk in resampler.resample(decoded):
                if chunk.pts is None or chunk.time_base is None:
                    continue
                samples = array("h", bytes(chunk.planes[0])[: chunk.samples * 2])
                start = float(chunk.pts * chunk.time_base)
                for i in range(0, len(samples) - window + 1, window):
                    energy = sum(x * x for x in samples[i : i + window])
                    audio_times.append(start + (i + window / 2) / 48000)
                    levels.append((energy / window) ** 0.5 / 32768)
                    total_sq += energy
                total_n += len(samples)
    luma_mid = (min(lumas) + max(lumas)) / 2 if lumas else 0.0
    level_mid = max(levels) / 2 if levels else 0.0
    return Measured(
        duration_s=duration,
        flashes=_onsets(frame_times, lumas, luma_mid) if lumas and max(lumas) > 200 else [],
        tones=_onsets(audio_times, levels, level_mid) if level_mid > 0.01 else [],
        luma_spread=sum(spreads) / len(spreads) if spreads else 0.0,
        rms=(total_sq / total_n) ** 0.5 / 32768 if total_n else 0.0,
    )
