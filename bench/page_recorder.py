"""What a page recording (``url``) costs on this machine, and how well it records.

Serves the test page of the page-recording tests on 127.0.0.1 (a moving box, and every 2 s a
tone with a white flash: tests/support/page_site.py) and records it with the page recorder
itself (reckit.recorder.page: its own Xvfb, PulseAudio and Chromium, FFmpeg x11grab + pulse,
H.264/AAC fragmented MP4 joined with +faststart), without a server around it. Per frame size:

- CPU: cores busy with the recording's processes (Xvfb, PulseAudio, Chromium and its helpers,
  FFmpeg), from their /proc times over the capture; memory: their summed PSS at the end (RSS
  counts Chromium's shared pages once per process);
- real-time factor: the file's probed duration over the wall-clock capture time; moving frames:
  frames per second that differ from the one before (the page animates at 60 Hz, so a
  recording that keeps up shows the full frame rate);
- A/V offset: flash onset minus tone onset (median over the pulses; positive: picture late).

Then how many run at once in real time: 1, 2, … recordings side by side at ``--ramp-size``
until a step is not sustained (a real-time factor under 0.95, or moving frames under 80 % of
the frame rate, in any of them).

    .venv/bin/python bench/page_recorder.py [--seconds 20] [--sizes 640x360,1280x720,1920x1080]
        [--ramp-size 1280x720] [--max-concurrent 4]

Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.page_site import Site, measure, small_gray

from reckit.recorder.page import PageCapture, PageSpec
from reckit.recorder.page_browser import missing_programs
from reckit.recorder.probe import probe
from reckit.recorder.specs import AudioSpec, VideoSpec

TICKS = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = int(fields[1])
    return out


def descendants(root: int) -> list[int]:
    parents = _children()
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        found += kids
        frontier += kids
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total / 1024


@dataclass
class Result:
    size: str
    cores: float
    pss_mb: float
    realtime: float
    moving_fps: float
    offset_ms: float | None


def _moving_fps(path: Path) -> float:
    import av

    moving, previous = 0, None
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            gray = small_gray(frame)
            moving += previous is not None and gray != previous
            previous = gray
    duration = probe(path).duration_s
    return moving / duration if duration else 0.0


def record(site: Site, size: str, seconds: float, work: Path, index: int) -> tuple[Path, float]:
    width, height = (int(x) for x in size.split("x"))
    capture = PageCapture(
        PageSpec(url=site.url("/av.html")),
        VideoSpec(width=width, height=height),
        AudioSpec(),
        work / f"{size}-{index}",
        "page",
    )
    capture.start()
    began = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - began
    out = capture.stop()
    assert out.video is not None
    return out.video, wall


def measured_run(site: Site, size: str, seconds: float, work: Path, n: int) -> list[Result]:
    me = os.getpid()
    with ThreadPoolExecutor(n) as pool:
        # CPU is counted over the capture only: sampled once every stage is up.
        futures = [pool.submit(record, site, size, seconds, work, i) for i in range(n)]
        time.sleep(min(8.0, seconds / 3))
        pids = descendants(me)
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        time.sleep(seconds / 2)
        pids = descendants(me)
        cores = (cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
        memory = pss_mb(pids)
        done = [f.result() for f in futures]
    results = []
    for path, wall in done:
        m = measure(path)
        offsets = m.offsets()
        results.append(
            Result(
                size=size,
                cores=cores / n,
                pss_mb=memory / n,
                realtime=probe(path).duration_s / wall,
                moving_fps=_moving_fps(path),
                offset_ms=statistics.median(offsets) * 1000 if offsets else None,
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sizes", default="640x360,1280x720,1920x1080")
    parser.add_argument("--ramp-size", default="1280x720")
    parser.add_argument("--max-concurrent", type=int, default=4)
    args = parser.parse_args()
    missing = missing_programs()
    if missing:
        sys.exit(
            f"page recording needs {', '.join(missing)} (apt-get install chromium xvfb pulseaudio)"
        )
    site = Site()
    fps = VideoSpec().fps
    try:
        with tempfile.TemporaryDirectory(prefix="reckit-bench-page-") as tmp:
            work = Path(tmp)
            print(f"one page recording at a time, {args.seconds:g} s each, {os.cpu_count()} cores")
            print(
                f"{'size':>10} {'cores':>6} {'PSS MB':>7} {'realtime':>9}"
                f" {'moving fps':>11} {'A/V ms':>7}"
            )
            for size in args.sizes.split(","):
                print(f"recording {size}", file=sys.stderr)
                (r,) = measured_run(site, size, args.seconds, work, 1)
                offset = "-" if r.offset_ms is None else f"{r.offset_ms:+.0f}"
                print(
                    f"{r.size:>10} {r.cores:>6.2f} {r.pss_mb:>7.0f} {r.realtime:>9.3f}"
                    f" {r.moving_fps:>11.1f} {offset:>7}"
                )
            print(
                f"\nside by side at {args.ramp_size}: sustained = every one real-time factor"
                f" >= 0.95 and moving fps >= {0.8 * fps:g}"
            )
            print(
                f"{'at once':>8} {'cores each':>11} {'PSS MB each':>12} {'worst realtime':>15}"
                f" {'worst moving fps':>17} {'sustained':>10}"
            )
            for n in range(1, args.max_concurrent + 1):
                print(f"{n} at once", file=sys.stderr)
                results = measured_run(site, args.ramp_size, args.seconds, work, n)
                worst_rt = min(r.realtime for r in results)
                worst_fps = min(r.moving_fps for r in results)
                ok = worst_rt >= 0.95 and worst_fps >= 0.8 * fps
                print(
                    f"{n:>8} {results[0].cores:>11.2f} {results[0].pss_mb:>12.0f}"
                    f" {worst_rt:>15.3f} {worst_fps:>17.1f} {'yes' if ok else 'no':>10}"
                )
                if not ok:
                    break
    finally:
        site.close()


if __name__ == "__main__":
    main()
