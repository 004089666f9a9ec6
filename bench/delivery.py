"""How fast recordings move on this machine: to each kind of customer storage, and out of
reckit's own bucket through its signed download links.

(a) Destinations. One random file of ``--size-mb`` (default 300, about an hour of recording) is
    sent with each destination's ``put`` (upload, then read back what landed) and fetched back
    with ``get``, against a real server started for it on 127.0.0.1 (the ones the tests use):
    S3 and DigitalOcean Spaces (the same S3 code, against moto), Azure Blob (Azurite), Google
    Cloud Storage (gcp-storage-emulator, in memory), SFTP with PASSWORD and with KEY auth
    (OpenSSH's sshd). The destinations run with their production defaults (part sizes,
    timeouts, retries). ``put`` is checked against the file's size (and MD5 or SHA-256 when the
    destination reports one), ``get`` against its SHA-256. Each destination gets a server of
    its own, so the server's peak RSS (VmHWM of its processes) is that destination's alone.

(b) reckit's own bucket. reckit (SQLite in a temporary directory, the ASGI app under uvicorn in
    a thread) gets the file as a finished recording through the public and recorder APIs
    (``tests/support/flows.py`` ``Scripted``); then, through the recording's signed
    ``download_url``:
    one full GET (streamed to disk, SHA-256 checked), sequential 8 MiB Range requests covering
    the file, and 200 random 1 MiB Range requests (every range compared with the file at its
    offset). Only the transfers are timed, not the checks.

    .venv/bin/python bench/delivery.py [--size-mb 300] [--only s3,azure,...] [--json]
        [--timeout 900]

Targets (for ``--only``): reckit, s3, digitalocean, azure, gcs, sftp-password, sftp-key (or
sftp for both). After ``--timeout`` seconds the run stops the servers, marks the step it was
in as timed out, and prints what it has. MB is 10^6 bytes. "bench RSS" is the peak resident
set of this process so far (it only grows). Progress goes to stderr; the table (or JSON) to
stdout; the exit status is 1 when any step failed, was skipped or timed out.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import random
import resource
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The test helpers (servers, destination builders, the scripted recorder) live in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import pytest
from tests.support.builders import add_meeting
from tests.support.flows import Scripted
from tests.support.live import new_tenant
from tests.support.storage_servers import gcs_emulator, make_gcs, make_s3, moto_server, random_file
from tests.support.storage_servers_az_sftp import azurite_server, make_azure, make_sftp, sshd_server
from tests.support.threaded import uvicorn_in_thread

from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.http.app import build_asgi_app
from reckit.storage.base import Destination

MB = 1_000_000
MiB = 1024 * 1024
SEQ_RANGE = 8 * MiB
RANDOM_RANGE = MiB
RANDOM_REQUESTS = 200
DESTINATIONS = ("s3", "digitalocean", "azure", "sftp-password", "sftp-key", "gcs")
TARGETS = (*DESTINATIONS, "reckit")  # the order they run in
KEY = "bench/recording.mp4"
GRACE_S = 45.0  # after --timeout: how long the run may take to notice and let go


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Stopped(Exception):
    """The run was stopped by --timeout."""


class Failed(Exception):
    """A transfer returned, but not the right bytes (or not the right answer)."""


@dataclass
class Row:
    target: str
    op: str
    bytes: int = 0
    seconds: float | None = None
    mb_s: float | None = None
    req_s: float | None = None
    verified: bool = False
    server_rss_mb: float | None = None
    bench_rss_mb: float | None = None
    error: str = ""


def _bench_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # KiB on Linux


def _descendants() -> set[int]:
    """The processes below this one (a server and whatever it forked), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    frontier = [os.getpid()]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _hwm_mb(pids: set[int]) -> float | None:
    """The summed peak RSS (VmHWM) of those of ``pids`` still alive."""
    total_kib, seen = 0, False
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("VmHWM:"):
                total_kib += int(line.split()[1])
                seen = True
    return total_kib * 1024 / MB if seen else None


def _hashes(path: Path) -> tuple[str, str]:
    """(MD5, SHA-256) of ``path``, hex."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Source:
    path: Path
    size: int
    md5: str
    sha256: str


class Run:
    """The rows so far, the step in progress and the servers up, shared by the thread doing
    the work and the main thread that stops it at --timeout."""

    def __init__(self, work: Path, size: int) -> None:
        self.work = work
        self.size = size
        self.rows: list[Row] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.step: tuple[str, str] | None = None
        self.active: list[contextlib.ExitStack] = []  # what stop() closes
        self.closing = threading.Lock()  # one close at a time (the worker's, or stop()'s)

    # -- bookkeeping, called from the worker ---------------------------------------------------

    def begin(self, target: str, op: str) -> None:
        with self.lock:
            if self.stopping:
                raise Stopped
            self.step = (target, op)
            log(f"{target}: {op} …")

    def add(self, row: Row) -> None:
        with self.lock:
            if self.stopping:
                raise Stopped
            self.rows.append(row)
            self.step = None
            rate = f"{row.mb_s:.1f} MB/s" if row.mb_s is not None else ""
            log(f"{row.target}: {row.op}: {rate} {row.error}".rstrip())

    def hold(self, stack: contextlib.ExitStack) -> None:
        with self.lock:
            if self.stopping:
                raise Stopped
            self.active.append(stack)

    def release(self, stack: contextlib.ExitStack) -> None:
        """Close ``stack``, even if stop() closed it already: a server that finished starting
        after that is on it now. Closing twice is harmless; closing at once is not."""
        with self.lock:
            if stack in self.active:
                self.active.remove(stack)
        with self.closing:
            stack.close()

    # -- from the main thread ------------------------------------------------------------------

    def stop(self, why: str) -> None:
        with self.lock:
            self.stopping = True
            if self.step is not None:
                self.rows.append(Row(*self.step, error=why))
            stacks, self.active = self.active, []
        for stack in stacks:
            with self.closing, contextlib.suppress(BaseException):
                stack.close()

    def snapshot(self) -> list[Row]:
        with self.lock:
            return list(self.rows)

    # -- the work ------------------------------------------------------------------------------

    def work_all(self, targets: list[str]) -> None:
        try:
            self.begin("setup", f"random file of {self.size / MB:g} MB")
            path = random_file(self.work / "source.bin", self.size)
            md5, sha = _hashes(path)
            with self.lock:
                self.step = None
            source = Source(path, self.size, md5, sha)
            for target in targets:
                if target == "reckit":
                    self._guarded(target, functools.partial(self.reckit, source))
                else:
                    self._guarded(target, functools.partial(self.destination, target, source))
        except Stopped:
            return

    def _guarded(self, target: str, body: Callable[[], None]) -> None:
        try:
            body()
        except Stopped:
            raise
        except (Exception, pytest.skip.Exception) as exc:
            with self.lock:
                if self.stopping:
                    raise Stopped from exc
                target_, op = self.step or (target, "start")
                self.step = None
            kind = "skipped" if isinstance(exc, pytest.skip.Exception) else type(exc).__name__
            self.add(Row(target_, op, error=f"{kind}: {str(exc)[:200]}"))

    def _dest_stack(self, target: str, stack: contextlib.ExitStack) -> Destination:
        if target in ("s3", "digitalocean"):
            url = stack.enter_context(moto_server())
            return make_s3(url, kind="aws" if target == "s3" else "digitalocean")
        if target == "gcs":
            return make_gcs(stack.enter_context(gcs_emulator()))
        if target == "azure":
            # AzureDestination's own defaults, not the tests' short ones.
            return make_azure(stack.enter_context(azurite_server()), timeout=30.0, retries=2)
        server = stack.enter_context(sshd_server())
        if target == "sftp-password":
            return make_sftp(server, "PASSWORD", timeout=30.0)
        return make_sftp(server, "KEY", timeout=30.0)

    def destination(self, target: str, src: Source) -> None:
        stack = contextlib.ExitStack()
        self.hold(stack)
        try:
            self.begin(target, "start server")
            before = _descendants()
            dest = self._dest_stack(target, stack)
            stack.callback(dest.close)
            server = _descendants() - before

            self.begin(target, "put (upload + read back)")
            t0 = time.perf_counter()
            stat = dest.put(KEY, src.path, "video/mp4")
            put_s = time.perf_counter() - t0
            problem = ""
            if stat.size != src.size:
                problem = f"put read back {stat.size} bytes, not {src.size}"
            elif stat.md5 is not None and stat.md5.lower() not in (src.md5, src.sha256):
                problem = f"put read back digest {stat.md5}, not the file's"
            self.add(self._row(target, "put (upload + read back)", put_s, server, problem))

            self.begin(target, "get (download)")
            got = self.work / f"got-{target}.bin"
            t0 = time.perf_counter()
            dest.get(KEY, got)
            get_s = time.perf_counter() - t0
            _, got_sha = _hashes(got)
            problem = "" if got_sha == src.sha256 else "get: SHA-256 differs from the file"
            problem += f" ({got.stat().st_size} bytes)" if problem else ""
            got.unlink()
            self.add(self._row(target, "get (download)", get_s, server, problem))
            with contextlib.suppress(Exception):
                dest.delete(KEY)
        finally:
            self.release(stack)

    def _row(self, target: str, op: str, seconds: float, server: set[int], problem: str) -> Row:
        return Row(
            target,
            op,
            self.size,
            seconds,
            self.size / MB / seconds,
            verified=not problem,
            server_rss_mb=_hwm_mb(server),
            bench_rss_mb=_bench_rss_mb(),
            error=problem,
        )

    def reckit(self, src: Source) -> None:
        stack = contextlib.ExitStack()
        self.hold(stack)
        try:
            self.begin("reckit", "start server")
            url, db = stack.enter_context(running_reckit(self.work / "reckit"))
            tenant = new_tenant(db)
            meeting = add_meeting(db, tenant.app_id, "delivery bench")
            recorder = Scripted.connect(url, db, SystemClock(), "bench-delivery")
            stack.callback(recorder.close)

            self.begin("reckit", "recorder upload (record)")
            t0 = time.perf_counter()
            rid = recorder.record(url, tenant, {"meeting_id": meeting.id}, {"video": src.path})
            up_s = time.perf_counter() - t0
            kit = f"{url}/client/v4/accounts/{tenant.account_id}/realtime/kit/{tenant.app_id}"
            with httpx.Client(headers=tenant.auth, timeout=30) as api:
                deadline = time.monotonic() + 60
                while True:
                    rec: dict[str, Any] = api.get(f"{kit}/recordings/{rid}").json()["data"]
                    if rec["status"] == "UPLOADED" or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
            if rec["status"] != "UPLOADED" or rec["file_size"] != src.size:
                raise Failed(f"recording is {rec['status']}, file_size {rec['file_size']}")
            self.add(
                Row(
                    "reckit",
                    "recorder upload (record)",
                    src.size,
                    up_s,
                    src.size / MB / up_s,
                    verified=True,
                    bench_rss_mb=_bench_rss_mb(),
                )
            )
            link = str(rec["download_url"])
            # The ranges are compared with the file read at their offsets (pread, not mmap:
            # a mapped file's pages would count in this process's RSS).
            with httpx.Client(timeout=60) as http, open(src.path, "rb") as f:
                self._full_get(http, link, src)
                self._sequential(http, link, f.fileno())
                self._random(http, link, f.fileno())
        finally:
            self.release(stack)

    def _full_get(self, http: httpx.Client, link: str, src: Source) -> None:
        op = "link: full GET"
        self.begin("reckit", op)
        out = self.work / "got-reckit.bin"
        t0 = time.perf_counter()
        with http.stream("GET", link) as r, out.open("wb") as f:
            if r.status_code != 200:
                raise Failed(f"GET answered {r.status_code}")
            for chunk in r.iter_bytes():
                f.write(chunk)
        seconds = time.perf_counter() - t0
        _, sha = _hashes(out)
        size = out.stat().st_size
        out.unlink()
        problem = "" if sha == src.sha256 else f"SHA-256 differs ({size} bytes)"
        self.add(
            Row(
                "reckit",
                op,
                size,
                seconds,
                size / MB / seconds,
                verified=not problem,
                bench_rss_mb=_bench_rss_mb(),
                error=problem,
            )
        )

    def _ranged(
        self, http: httpx.Client, link: str, start: int, length: int
    ) -> tuple[bytes, float]:
        """The bytes of one Range request and how long it took; checks the answer's status and
        Content-Range."""
        end = start + length - 1
        t0 = time.perf_counter()
        r = http.get(link, headers={"range": f"bytes={start}-{end}"})
        body = r.content
        seconds = time.perf_counter() - t0
        expected = f"bytes {start}-{end}/{self.size}"
        if r.status_code != 206 or r.headers.get("content-range") != expected:
            raise Failed(f"Range {start}-{end}: {r.status_code} {r.headers.get('content-range')}")
        return body, seconds

    def _sequential(self, http: httpx.Client, link: str, fd: int) -> None:
        op = f"link: sequential {SEQ_RANGE // MiB} MiB ranges"
        self.begin("reckit", op)
        total_s, total, count, bad = 0.0, 0, 0, 0
        for start in range(0, self.size, SEQ_RANGE):
            if self.stopping:
                raise Stopped
            length = min(SEQ_RANGE, self.size - start)
            body, seconds = self._ranged(http, link, start, length)
            total_s += seconds
            total += len(body)
            count += 1
            bad += body != os.pread(fd, length, start)
        problem = f"{bad} of {count} ranges differ from the file" if bad else ""
        if total != self.size:
            problem += f" covered {total} bytes, not {self.size}"
        self.add(
            Row(
                "reckit",
                op,
                total,
                total_s,
                total / MB / total_s,
                count / total_s,
                verified=not problem,
                bench_rss_mb=_bench_rss_mb(),
                error=problem,
            )
        )

    def _random(self, http: httpx.Client, link: str, fd: int) -> None:
        op = f"link: {RANDOM_REQUESTS} random {RANDOM_RANGE // MiB} MiB ranges"
        self.begin("reckit", op)
        rng = random.Random(20261126)
        length = min(RANDOM_RANGE, self.size)
        total_s, total, bad = 0.0, 0, 0
        for _ in range(RANDOM_REQUESTS):
            if self.stopping:
                raise Stopped
            start = rng.randrange(0, self.size - length + 1)
            body, seconds = self._ranged(http, link, start, length)
            total_s += seconds
            total += len(body)
            bad += body != os.pread(fd, length, start)
        problem = f"{bad} of {RANDOM_REQUESTS} ranges differ from the file" if bad else ""
        self.add(
            Row(
                "reckit",
                op,
                total,
                total_s,
                total / MB / total_s,
                RANDOM_REQUESTS / total_s,
                verified=not problem,
                bench_rss_mb=_bench_rss_mb(),
                error=problem,
            )
        )


@contextlib.contextmanager
def running_reckit(work: Path) -> Iterator[tuple[str, Database]]:
    """reckit on a free loopback port, SQLite in ``work``, no timers, no built-in recorder."""
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    settings = Settings(
        host="127.0.0.1", port=port, data_dir=work, sweep_interval_s=0, builtin_recorder=False
    )
    db = Database(f"sqlite:///{work / 'reckit.sqlite3'}")
    migrate(db)
    try:
        with uvicorn_in_thread(build_asgi_app(settings, db, SystemClock()), port) as url:
            yield url, db
    finally:
        db.close()


def _targets(only: str | None) -> list[str]:
    if not only:
        return list(TARGETS)
    wanted: set[str] = set()
    for name in (n.strip().lower() for n in only.split(",") if n.strip()):
        if name == "sftp":
            wanted |= {"sftp-password", "sftp-key"}
        elif name in TARGETS:
            wanted.add(name)
        else:
            raise SystemExit(f"unknown target {name!r}; known: {', '.join(TARGETS)}, sftp")
    return [t for t in TARGETS if t in wanted]


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[Row], header: str) -> str:
    columns = (
        "target",
        "operation",
        "MB/s",
        "req/s",
        "seconds",
        "ok",
        "server RSS MB",
        "bench RSS MB",
        "note",
    )
    lines = [
        (
            r.target,
            r.op,
            _fmt(r.mb_s),
            _fmt(r.req_s),
            _fmt(r.seconds, 2),
            "yes" if r.verified else "NO",
            _fmt(r.server_rss_mb, 0),
            _fmt(r.bench_rss_mb, 0),
            r.error,
        )
        for r in rows
    ]
    widths = [max([len(c), *(len(line[i]) for line in lines)]) for i, c in enumerate(columns)]
    right = {2, 3, 4, 6, 7}

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([header, render(columns), *(render(line) for line in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=300.0, help="file size, MB (10^6 B)")
    parser.add_argument("--only", help=f"comma-separated targets of {', '.join(TARGETS)}, sftp")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--timeout", type=float, default=900.0, help="stop after this, seconds")
    args = parser.parse_args(argv)
    targets = _targets(args.only)
    size = int(args.size_mb * MB)
    if size < 1:
        parser.error("--size-mb must be positive")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reckit-bench-delivery-") as tmp:
        run = Run(Path(tmp), size)
        worker = threading.Thread(target=run.work_all, args=(targets,), daemon=True)
        worker.start()
        worker.join(args.timeout)
        timed_out = worker.is_alive()
        if timed_out:
            run.stop(f"timed out: stopped by --timeout ({args.timeout:g} s)")
            worker.join(GRACE_S)
        rows = run.snapshot()
    elapsed = time.monotonic() - started

    failed = timed_out or any(not r.verified for r in rows)
    if args.json:
        print(
            json.dumps(
                {
                    "size_bytes": size,
                    "mb": MB,
                    "cpus": os.cpu_count(),
                    "targets": targets,
                    "elapsed_s": round(elapsed, 2),
                    "timed_out": timed_out,
                    "results": [asdict(r) for r in rows],
                },
                indent=2,
            )
        )
    else:
        header = (
            f"delivery benchmark: one file of {size / MB:g} MB (MB = 10^6 bytes), "
            f"{os.cpu_count()} CPUs, {elapsed:.0f} s"
            + (f", stopped by --timeout {args.timeout:g} s" if timed_out else "")
        )
        print(table(rows, header))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
