"""What the reference recorder does on this machine: how long a recording takes from stop to
UPLOADED, and how many synthetic captures it sustains in real time.

Starts its own reckit (SQLite in a temporary directory, the ASGI app under uvicorn in a thread,
on 127.0.0.1) and the reference recorder in a thread, and drives both over the public API as a
client would. Then, per frame size:

(a) one H.264 recording of ``--seconds``: the time from the stop call to UPLOADED, the file's
    size and its probed duration;
(b) a ramp of N = 1, 2, 4, … up to ``--max-concurrent`` recordings at once, each step capturing
    for ``--step-seconds``. A step is sustained when every file's probed duration is within
    ``--tolerance`` (10%) of its wall-clock capture time (``started_time`` to ``stopped_time``)
    and the recorder reported no failure (no ERRORED recording, no warning in its log). The
    ramp stops at the first step that is not sustained.

    .venv/bin/python bench/recorder.py [--seconds 60] [--sizes 1280x720,640x360]
        [--max-concurrent 16] [--step-seconds 20] [--json]

The recordings carry video and audio (AAC stereo) in one MP4 and no separate audio file. Load
is the 1-minute load average at the end of each capture; CPU is the share of all cores busy
during it (from /proc/stat). Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.threaded import uvicorn_in_thread

from reckit.accounts.service import create_account
from reckit.apps.service import create_app as create_app_record
from reckit.auth.tokens import create_token
from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.http.app import build_asgi_app
from reckit.recorder.client import RecorderClient
from reckit.recorder.probe import probe
from reckit.recorder.worker import ReferenceRecorder
from reckit.timestamps import parse_rfc3339


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Warnings(logging.Handler):
    """Counts the recorder's warnings and errors (a failed capture, an upload that failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reckit:
    kit: str  # …/accounts/{account}/realtime/kit/{app}
    auth: dict[str, str]
    warnings: _Warnings
    work: Path


@contextmanager
def running_reckit(work: Path, capacity: int) -> Iterator[Reckit]:
    """reckit on a free loopback port with a store of its own, and the reference recorder."""
    port = _free_port()
    settings = Settings(host="127.0.0.1", port=port, data_dir=work, sweep_interval_s=0.5)
    db = Database(f"sqlite:///{work / 'bench.sqlite3'}")
    migrate(db)
    clock = SystemClock()
    with db.transaction(write=True) as tx:
        account_id = create_account(tx, clock, "bench")
        app = create_app_record(tx, clock, account_id, "bench")
        token, _ = create_token(tx, clock, account_id, "Realtime Admin", "bench")
        recorder_token, _ = create_recorder_token(tx, clock, "bench")
    warnings = _Warnings()
    recorder_log = logging.getLogger("reckit.recorder")
    stop = threading.Event()
    client = RecorderClient(f"http://127.0.0.1:{port}", recorder_token)
    with contextlib.ExitStack() as stack:
        stack.callback(db.close)
        url = stack.enter_context(uvicorn_in_thread(build_asgi_app(settings, db), port))
        recorder_log.addHandler(warnings)
        stack.callback(recorder_log.removeHandler, warnings)
        stack.callback(client.close)
        recorder = ReferenceRecorder(client, work / "capture", capacity, poll_interval_s=0.2)
        recorder_thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
        recorder_thread.start()
        stack.callback(recorder_thread.join, 60)
        stack.callback(stop.set)
        yield Reckit(
            f"{url}/client/v4/accounts/{account_id}/realtime/kit/{app.id}",
            {"Authorization": f"Bearer {token}"},
            warnings,
            work,
        )


def _data(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r.json()["data"]


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores, or None off Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _cpu_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


@dataclass
class Done:
    id: str
    captured_s: float  # started_time → stopped_time, wall clock
    probed_s: float
    file_size: int
    stop_to_uploaded_s: float


class Driver:
    def __init__(self, rk: Reckit, timeout_s: float) -> None:
        self.rk = rk
        self.timeout_s = timeout_s
        self.local = threading.local()

    def http(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self.local, "http", None)
        if client is None:
            client = self.local.http = httpx.Client(timeout=60, headers=self.rk.auth)
        return client

    def start(self, title: str, width: int, height: int) -> str:
        meeting = _data(self.http().post(f"{self.rk.kit}/meetings", json={"title": title}))
        body = {
            "meeting_id": meeting["id"],
            "video_config": {"codec": "H264", "width": width, "height": height},
            "audio_config": {"codec": "AAC", "channel": "stereo", "export_file": False},
        }
        return str(_data(self.http().post(f"{self.rk.kit}/recordings", json=body))["id"])

    def get(self, rid: str) -> dict[str, Any]:
        data: dict[str, Any] = _data(self.http().get(f"{self.rk.kit}/recordings/{rid}"))
        return data

    def wait(self, rid: str, wanted: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            rec = self.get(rid)
            if rec["status"] == wanted:
                return rec
            if rec["status"] == "ERRORED":
                raise RuntimeError(f"recording {rid} ERRORED")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"recording {rid} still {rec['status']} after {self.timeout_s:.0f} s"
                )
            time.sleep(0.05)

    def stop_and_measure(self, rid: str) -> Done:
        t0 = time.monotonic()
        _data(self.http().put(f"{self.rk.kit}/recordings/{rid}", json={"action": "stop"}))
        rec = self.wait(rid, "UPLOADED")
        elapsed = time.monotonic() - t0
        started = parse_rfc3339(rec["started_time"])
        stopped = parse_rfc3339(rec["stopped_time"])
        assert started is not None and stopped is not None
        path = self.rk.work / f"{rid}.mp4"
        with self.http().stream("GET", rec["download_url"]) as r, path.open("wb") as f:
            r.raise_for_status()
            for chunk in r.iter_bytes(1 << 20):
                f.write(chunk)
        measured = probe(path)
        path.unlink()
        return Done(
            rid, (stopped - started) / 1000, measured.duration_s, int(rec["file_size"]), elapsed
        )


def _all(pool: ThreadPoolExecutor, fn: Callable[[int], Any], n: int) -> list[Any]:
    return list(pool.map(fn, range(n)))


@dataclass
class Single:
    size: str
    captured_s: float
    probed_s: float
    file_mb: float
    stop_to_uploaded_s: float


@dataclass
class Step:
    size: str
    n: int
    captured_min_s: float
    captured_max_s: float
    worst_gap_pct: float  # (probed - captured) / captured of largest size; < 0: fell behind
    stop_to_uploaded_max_s: float
    load1: float
    cpu_pct: float | None
    failures: int
    sustained: bool
    note: str = ""


def single(driver: Driver, width: int, height: int, seconds: float) -> Single:
    size = f"{width}x{height}"
    log(f"(a) {size}: one recording of {seconds:.0f} s")
    rid = driver.start(f"single {size}", width, height)
    driver.wait(rid, "RECORDING")
    time.sleep(seconds)
    done = driver.stop_and_measure(rid)
    return Single(
        size, done.captured_s, done.probed_s, done.file_size / 1e6, done.stop_to_uploaded_s
    )


def step(driver: Driver, width: int, height: int, n: int, seconds: float, tolerance: float) -> Step:
    size = f"{width}x{height}"
    log(f"(b) {size}: {n} at once for {seconds:.0f} s")
    failures_before = len(driver.rk.warnings.messages)
    with ThreadPoolExecutor(max_workers=n) as pool:
        try:
            ids = _all(pool, lambda i: driver.start(f"ramp {size} {n} {i}", width, height), n)
            _all(pool, lambda i: driver.wait(ids[i], "RECORDING"), n)
            cpu0 = _cpu_ticks()
            time.sleep(seconds)
            load1 = os.getloadavg()[0]
            cpu = _cpu_share(cpu0, _cpu_ticks())
            done: list[Done] = _all(pool, lambda i: driver.stop_and_measure(ids[i]), n)
        except RuntimeError as exc:
            failures = len(driver.rk.warnings.messages) - failures_before
            return Step(
                size, n, 0, 0, 100, 0, os.getloadavg()[0], None, max(failures, 1), False, str(exc)
            )
    failures = len(driver.rk.warnings.messages) - failures_before
    worst = max(((d.probed_s - d.captured_s) / d.captured_s for d in done), key=abs)
    sustained = failures == 0 and abs(worst) <= tolerance
    return Step(
        size,
        n,
        min(d.captured_s for d in done),
        max(d.captured_s for d in done),
        100 * worst,
        max(d.stop_to_uploaded_s for d in done),
        load1,
        cpu,
        failures,
        sustained,
    )


def ramp(max_concurrent: int) -> list[int]:
    ns = [1]
    while ns[-1] * 2 <= max_concurrent:
        ns.append(ns[-1] * 2)
    if ns[-1] != max_concurrent:
        ns.append(max_concurrent)
    return ns


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        w, _, h = part.strip().lower().partition("x")
        sizes.append((int(w), int(h)))
    return sizes


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def print_tables(singles: list[Single], steps: list[Step], seconds: float) -> None:
    print(f"\n(a) one H.264 recording of {seconds:.0f} s: from the stop call to UPLOADED\n")
    print("| size | captured s | probed s | file MB | stop → UPLOADED s |")
    print("|---|---|---|---|---|")
    for s in singles:
        print(
            f"| {s.size} | {s.captured_s:.2f} | {s.probed_s:.2f} | {s.file_mb:.2f} "
            f"| {s.stop_to_uploaded_s:.2f} |"
        )
    print("\n(b) N recordings at once: probed duration against wall-clock capture time")
    print("    (gap = (probed - captured) / captured, worst of the N; negative: fell behind)\n")
    print(
        "| size | N | captured s | worst gap % | stop → UPLOADED max s | load1 | CPU % "
        "| failures | sustained |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for t in steps:
        captured = f"{t.captured_min_s:.1f}..{t.captured_max_s:.1f}" if t.captured_max_s else "-"
        verdict = "yes" if t.sustained else f"no{': ' + t.note if t.note else ''}"
        print(
            f"| {t.size} | {t.n} | {captured} | {t.worst_gap_pct:+.1f} "
            f"| {t.stop_to_uploaded_max_s:.2f} | {t.load1:.2f} | {_fmt(t.cpu_pct, '.0f')} "
            f"| {t.failures} | {verdict} |"
        )
    print("\nLargest N sustained in real time:")
    for size in dict.fromkeys(t.size for t in steps):
        ok = [t.n for t in steps if t.size == size and t.sustained]
        print(f"  {size}: {max(ok) if ok else 0}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="length of the single recording in (a) (default 60)",
    )
    parser.add_argument(
        "--sizes", default="1280x720", help="comma-separated WxH frame sizes (default 1280x720)"
    )
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=16,
        help="the ramp in (b) goes 1, 2, 4, … up to this (default 16)",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=20.0,
        help="capture time of each ramp step (default 20)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.10,
        help="allowed |probed - captured| / captured (default 0.10)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="give up waiting for one state after this many seconds",
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    if args.max_concurrent < 1 or args.seconds <= 0 or args.step_seconds <= 0:
        parser.error("--max-concurrent, --seconds and --step-seconds must be positive")

    started = time.monotonic()
    singles: list[Single] = []
    steps: list[Step] = []
    with (
        tempfile.TemporaryDirectory(prefix="reckit-bench-") as tmp,
        running_reckit(Path(tmp), args.max_concurrent) as rk,
    ):
        driver = Driver(rk, args.timeout)
        for width, height in sizes:
            singles.append(single(driver, width, height, args.seconds))
        for width, height in sizes:
            for n in ramp(args.max_concurrent):
                result = step(driver, width, height, n, args.step_seconds, args.tolerance)
                steps.append(result)
                if not result.sustained:
                    break  # more at once will not do better
    log(f"done in {time.monotonic() - started:.0f} s on {os.cpu_count()} cores")
    print_tables(singles, steps, args.seconds)
    if args.json:
        print(
            json.dumps(
                {"single": [asdict(s) for s in singles], "ramp": [asdict(t) for t in steps]},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
