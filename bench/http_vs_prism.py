"""Driver for http_vs_prism.sh: start both servers, run wrk, print the table (see the .sh)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from reckit.http.openapi import openapi_document

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = int(os.environ.get("RECORDINGS", "1000000"))
DURATION = os.environ.get("DURATION", "10s")
RUNS = int(os.environ.get("RUNS", "3"))
# reckit is measured once per worker count (processes of `reckit serve --workers N`).
WORKERS = [int(w) for w in os.environ.get("WORKERS", "1,2").split(",") if w.strip()]
DATA = ROOT / "bench" / ".data" / f"http-{RECORDINGS}"
RECKIT_PORT, PRISM_PORT = 18787, 14010
PATH = "/client/v4/accounts/{a}/realtime/kit/{p}/recordings?per_page=25"


def reckit(*args: str) -> str:
    out = subprocess.run(
        ["reckit", *args, "--data-dir", str(DATA)], check=True, capture_output=True, text=True
    )
    return out.stdout


def prepare_store() -> dict[str, str]:
    ids_file = DATA / "ids.json"
    if ids_file.exists():
        ids: dict[str, str] = json.loads(ids_file.read_text())
        return ids
    shutil.rmtree(DATA, ignore_errors=True)
    account = json.loads(reckit("accounts", "create", "--name", "bench", "--json"))["account_id"]
    app = json.loads(reckit("apps", "create", "--account", account, "--name", "b", "--json"))
    token = json.loads(reckit("tokens", "create", "--account", account, "--json"))["token"]
    print(f"seeding {RECORDINGS:,} recordings (once; kept in {DATA})", flush=True)
    subprocess.run(
        [
            "reckit",
            "seed",
            "--app",
            app["app_id"],
            "--recordings",
            str(RECORDINGS),
            "--data-dir",
            str(DATA),
        ],
        check=True,
    )
    ids = {"account_id": account, "app_id": app["app_id"], "token": token}
    ids_file.write_text(json.dumps(ids))
    return ids


def wait_for(url: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def prism_document(example: dict[str, object]) -> Path:
    doc = openapi_document()
    # Prism matches paths without the servers' base path: give it the full path.
    item = doc["paths"].pop("/accounts/{account_id}/realtime/kit/{app_id}/recordings")
    doc["paths"]["/client/v4/accounts/{account_id}/realtime/kit/{app_id}/recordings"] = item
    item["get"]["responses"]["200"]["content"]["application/json"]["example"] = example
    path = DATA / "prism-openapi.json"
    path.write_text(json.dumps(doc))
    return path


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, token: str, conns: int) -> Run:
    threads = min(2, conns)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{conns}",
            f"-d{DURATION}",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # The latency distribution's own lines ("    50%    1.23ms"), not a "90.50%" elsewhere.
    found = {q: re.search(rf"^\s+{q}%\s+(\S+)\s*$", out, re.M) for q in (50, 99)}
    if not all(found.values()):
        print(out, file=sys.stderr)
        raise SystemExit(f"could not read wrk's latency distribution for {url}")
    p50, p99 = (_ms(m.group(1)) for m in found.values() if m is not None)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Run(
        rps,
        p50,
        p99,
        int(non2xx.group(1)) if non2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
    )


def median_run(url: str, token: str, conns: int) -> Run:
    runs = [wrk(url, token, conns) for _ in range(RUNS)]
    runs.sort(key=lambda r: r.rps)
    mid = runs[len(runs) // 2]
    mid.non_2xx = sum(r.non_2xx for r in runs)
    mid.errors = sum(r.errors for r in runs)
    return mid


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a server: the process and its descendants (workers, helpers),
    each process's peak (VmHWM) added up, so pages they share count once per process."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except FileNotFoundError:
            continue  # ended meanwhile
        total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
        todo += [int(c) for c in children]
    return total / 1024


@dataclass
class Measured:
    c64: Run
    c1: Run
    rss_mb: float


def measure(url: str, token: str, pid: int) -> Measured:
    runs = {}
    for conns in (64, 1):
        print(f"  wrk -c{conns} ({RUNS} x {DURATION})", file=sys.stderr, flush=True)
        runs[conns] = median_run(url, token, conns)
    return Measured(runs[64], runs[1], peak_rss_mb(pid))


def start_prism(doc: Path) -> subprocess.Popen[bytes]:
    """Stoplight Prism mocking ``doc`` on 127.0.0.1:PRISM_PORT, in its own session."""
    return subprocess.Popen(
        [
            str(ROOT / "bench/prism/node_modules/.bin/prism"),
            "mock",
            "-h",
            "127.0.0.1",
            "-p",
            str(PRISM_PORT),
            "--verboseLevel",
            "warn",
            str(doc),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def serve_reckit(workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ}
    env.pop("RECKIT_DATABASE_URL", None)
    return subprocess.Popen(
        [
            "reckit",
            "serve",
            "--port",
            str(RECKIT_PORT),
            "--no-access-log",
            "--workers",
            str(workers),
            "--data-dir",
            str(DATA),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    ids = prepare_store()
    # Migrations (a one-time cost after an upgrade) run now, not inside the measured server.
    reckit("migrate")
    auth = {"Authorization": f"Bearer {ids['token']}"}
    path = PATH.format(a=ids["account_id"], p=ids["app_id"])
    reckit_url = f"http://127.0.0.1:{RECKIT_PORT}{path}"
    results: dict[str, Measured] = {}
    example: dict[str, object] = {}
    for workers in WORKERS:
        name = f"reckit, {workers} worker{'s' if workers > 1 else ''}"
        print(name, file=sys.stderr, flush=True)
        server = serve_reckit(workers)
        try:
            wait_for(reckit_url, auth)
            example = httpx.get(reckit_url, headers=auth).json()
            results[name] = measure(reckit_url, ids["token"], server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    doc = prism_document(example)
    print("Prism mock", file=sys.stderr, flush=True)
    prism = start_prism(doc)
    try:
        prism_url = f"http://127.0.0.1:{PRISM_PORT}{path}"
        wait_for(prism_url, auth)
        results["Prism mock"] = measure(prism_url, ids["token"], prism.pid)
    finally:
        os.killpg(prism.pid, signal.SIGTERM)
        prism.wait(30)

    print(
        f"\nList endpoint, 25 per page, {RECORDINGS:,}-recording store (SQLite); "
        f"wrk -t2, {DURATION}, median of {RUNS}\n"
    )
    print(
        "| server | c64 req/s | c64 p50 ms | c64 p99 ms | c1 req/s | c1 p99 ms | non-2xx "
        "| peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, m in results.items():
        a, b = m.c64, m.c1
        bad = a.non_2xx + b.non_2xx + a.errors + b.errors
        print(
            f"| {name} | {a.rps:,.0f} | {a.p50_ms:.1f} | {a.p99_ms:.1f} | {b.rps:,.0f} | "
            f"{b.p99_ms:.1f} | {bad} | {m.rss_mb:.0f} |"
        )
    prism_rps = results["Prism mock"].c64.rps
    print(
        "\nThroughput at c64 against Prism: "
        + ", ".join(
            f"{name} {m.c64.rps / prism_rps:.1f}x"
            for name, m in results.items()
            if name != "Prism mock"
        )
    )
    print(
        "Peak RSS: every process of the server (parent, workers, helpers), each one's peak "
        "added up."
    )


if __name__ == "__main__":
    main()
