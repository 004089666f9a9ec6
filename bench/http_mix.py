"""The list endpoint under a varied mix of requests, against a Prism mock in the same run.

Where ``http_vs_prism.sh`` repeats one URL (the cache-hit case: reckit answers from its page
cache), this sends a reproducible mix (fixed seed) of the shapes real clients send, so that
nearly every request misses the page cache and runs the list query:

- ``deep``: no filter, a random page among the first 40,000 (25 per page);
- ``statuses``: two statuses, a random page among the first 1,000;
- ``window``: a 30-day window (edges not on midnight) and UPLOADED, a page among the first 20;
- ``title``: one title word (``search``), 10 or 25 per page, a page among the first 40;
- ``meeting``: one meeting's recordings;
- ``ascending``: oldest first, a random page among the first 40,000;
- ``expired``: ``expired=true`` or ``false`` with UPLOADED or ERRORED, a page among the first
  1,000.

All the servers (``reckit serve`` with 1 and with 2 workers on the SQLite store, and the Prism
mock) run side by side, idle but for the one measured: wrk over the whole mix at c64, each
server in turn, ROUNDS times (the median run: req/s, p50, p99; non-2xx of all runs; peak RSS
of the server's processes); then, for reckit with one worker, each shape alone at c1 (p50,
p90, p99).

    bash -c 'source scripts/setup.sh && python bench/http_mix.py'
    (wrk and Prism are installed as http_vs_prism.sh installs them.)

Before each server's measured run the same mix runs unmeasured for WARMUP (5s): the first
requests of a fresh process resolve each title word's meetings once (tens of milliseconds each
for the broad ones) and read the day counts once; the table is the steady state after that.

Settings (environment): RECORDINGS (1000000), DURATION (10s, the mix), SHAPE_DURATION (5s),
WARMUP (5s; 0s for none), ROUNDS (3), WORKERS (1,2), SEED (1), PER_SHAPE (3000 URLs per
shape). The store is seeded once into bench/.data, shared with http_vs_prism.py. Servers and
wrk share the machine's cores: figures from a busy machine are noisy (the table says the load
average).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from http_vs_prism import (
    DATA,
    PRISM_PORT,
    RECKIT_PORT,
    peak_rss_mb,
    prepare_store,
    prism_document,
    reckit,
    start_prism,
    wait_for,
)

DURATION = os.environ.get("DURATION", "10s")
SHAPE_DURATION = os.environ.get("SHAPE_DURATION", "5s")
WARMUP = os.environ.get("WARMUP", "5s")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
WORKERS = [int(w) for w in os.environ.get("WORKERS", "1,2").split(",") if w.strip()]
SEED = int(os.environ.get("SEED", "1"))
PER_SHAPE = int(os.environ.get("PER_SHAPE", "3000"))
BASE = "/client/v4/accounts/{a}/realtime/kit/{p}/recordings"
DAY_MS = 86_400_000
WORDS = (
    "Falcon",
    "Orion",
    "Atlas",
    "Nimbus",
    "Quartz",
    "Kestrel",
    "Zephyr",
    "standup",
    "retro",
    "planning",
    "demo",
    "interview",
    "workshop",
    "lecture",
    "review",
)
STATUS_PAIRS = (
    ("UPLOADED", "ERRORED"),
    ("UPLOADED", "RECORDING"),
    ("ERRORED", "INVOKED"),
    ("UPLOADING", "UPLOADED"),
)
SHAPES = ("deep", "statuses", "window", "title", "meeting", "ascending", "expired")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def store_facts(app_id: str) -> tuple[int, int, list[str]]:
    """(first and last invoked_time, meeting IDs with recordings), read from the file."""
    conn = sqlite3.connect(f"file:{DATA / 'reckit.sqlite3'}?mode=ro", uri=True)
    try:
        first, last = conn.execute(
            "SELECT min(invoked_time), max(invoked_time) FROM recordings WHERE app_id = ?",
            (app_id,),
        ).fetchone()
        meetings = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM meetings WHERE app_id = ? AND recording_count > 0 ORDER BY id",
                (app_id,),
            )
        ]
    finally:
        conn.close()
    return int(first), int(last), meetings


def shape_paths(
    shape: str, rng: random.Random, base: str, facts: tuple[int, int, list[str]], n: int
) -> list[str]:
    first, last, meetings = facts
    out = []
    for _ in range(n):
        if shape == "deep":
            q = f"per_page=25&page_no={rng.randint(1, 40_000)}"
        elif shape == "statuses":
            a, b = rng.choice(STATUS_PAIRS)
            q = f"per_page=25&status={a},{b}&page_no={rng.randint(1, 1_000)}"
        elif shape == "window":
            start = rng.randint(first, last - 30 * DAY_MS)
            q = (
                f"per_page=25&status=UPLOADED&start_time={_iso(start)}"
                f"&end_time={_iso(start + 30 * DAY_MS)}&page_no={rng.randint(1, 20)}"
            )
        elif shape == "title":
            per_page = rng.choice((10, 25))
            q = f"per_page={per_page}&search={rng.choice(WORDS)}&page_no={rng.randint(1, 40)}"
        elif shape == "meeting":
            q = f"per_page=25&meeting_id={rng.choice(meetings)}"
        elif shape == "ascending":
            q = f"per_page=25&sort_order=ASC&page_no={rng.randint(1, 40_000)}"
        else:
            flag = rng.choice(("true", "false"))
            status = rng.choice(("UPLOADED", "ERRORED"))
            q = f"per_page=25&expired={flag}&status={status}&page_no={rng.randint(1, 1_000)}"
        out.append(f"{base}?{q}")
    return out


_LUA = """
paths = {%s}
local counter = 0
function setup(thread)
  thread:set("start", math.random(1, #paths))
end
function init(args)
  counter = start or 1
end
function request()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end
"""


def lua_script(paths: list[str], where: Path) -> Path:
    where.write_text(_LUA % ",".join(json.dumps(p) for p in paths))
    return where


@dataclass
class Run:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(port: int, token: str, conns: int, script: Path, duration: str) -> Run:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, conns)}",
            f"-c{conns}",
            f"-d{duration}",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    found = {q: re.search(rf"^\s+{q}%\s+(\S+)\s*$", out, re.M) for q in (50, 90, 99)}
    if not all(found.values()):
        print(out, file=sys.stderr)
        raise SystemExit("could not read wrk's latency distribution")
    p50, p90, p99 = (_ms(m.group(1)) for m in found.values() if m is not None)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Run(
        rps,
        p50,
        p90,
        p99,
        int(non2xx.group(1)) if non2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
    )


def warm_up(port: int, token: str, script: Path) -> None:
    """The mix, unmeasured, for WARMUP (see the module's docstring)."""
    if _ms(WARMUP) > 0:
        print(f"  warm-up at c64 ({WARMUP})", file=sys.stderr, flush=True)
        wrk(port, token, 64, script, WARMUP)


def median(runs: list[Run]) -> Run:
    """The run of median throughput, with the non-2xx answers and errors of all of them."""
    mid = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
    return Run(
        mid.rps,
        mid.p50_ms,
        mid.p90_ms,
        mid.p99_ms,
        sum(r.non_2xx for r in runs),
        sum(r.errors for r in runs),
    )


def serve_reckit_on(port: int, workers: int) -> subprocess.Popen[bytes]:
    """``reckit serve`` on the benchmark's store, as ``http_vs_prism.serve_reckit``, on
    ``port``."""
    env = {**os.environ}
    env.pop("RECKIT_DATABASE_URL", None)
    args = ["reckit", "serve", "--port", str(port), "--no-access-log", "--workers", str(workers)]
    return subprocess.Popen(
        [*args, "--data-dir", str(DATA)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGINT, as Ctrl+C; a server closing its store may take a while (PRAGMA optimize)."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(120)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(30)


@dataclass
class Measured:
    mix: Run
    rss_mb: float
    shapes: dict[str, Run]


def main() -> None:
    ids = prepare_store()
    reckit("migrate")  # a one-time cost after an upgrade: not inside the measured server
    token = ids["token"]
    auth = {"Authorization": f"Bearer {token}"}
    base = BASE.format(a=ids["account_id"], p=ids["app_id"])
    facts = store_facts(ids["app_id"])
    rng = random.Random(SEED)
    by_shape = {s: shape_paths(s, rng, base, facts, PER_SHAPE) for s in SHAPES}
    mix = [p for paths in by_shape.values() for p in paths]
    rng.shuffle(mix)
    tmp = Path(tempfile.mkdtemp(prefix="reckit-mix-"))
    mix_lua = lua_script(mix, tmp / "mix.lua")
    shape_lua = {s: lua_script(paths, tmp / f"{s}.lua") for s, paths in by_shape.items()}

    results: dict[str, Measured] = {}
    load_before = os.getloadavg()[0]  # the machine's other work, for reading the figures
    # Every server runs from the start; the measured runs take turns, ROUNDS times, so that
    # the machine's other work weighs on each alike (the median run of each is shown).
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    try:
        for i, workers in enumerate(WORKERS):
            name = f"reckit, {workers} worker{'s' if workers > 1 else ''}"
            servers[name] = (RECKIT_PORT + i, serve_reckit_on(RECKIT_PORT + i, workers))
        for port, _ in servers.values():
            wait_for(f"http://127.0.0.1:{port}{base}?per_page=25", auth)
        first_port = next(iter(servers.values()))[0]
        example = httpx.get(f"http://127.0.0.1:{first_port}{base}?per_page=25", headers=auth)
        prism = start_prism(prism_document(example.json()))
        servers["Prism mock"] = (PRISM_PORT, prism)
        wait_for(f"http://127.0.0.1:{PRISM_PORT}{base}?per_page=25", auth)
        for name, (port, _) in servers.items():
            print(f"{name}: warm-up", file=sys.stderr, flush=True)
            warm_up(port, token, mix_lua)
        runs: dict[str, list[Run]] = {name: [] for name in servers}
        for round_no in range(ROUNDS):
            for name, (port, _) in servers.items():
                print(f"round {round_no + 1}: {name}, mix at c64", file=sys.stderr, flush=True)
                runs[name].append(wrk(port, token, 64, mix_lua, DURATION))
        for name, (port, process) in servers.items():
            shapes: dict[str, Run] = {}
            if name == "reckit, 1 worker":
                for s in SHAPES:
                    print(f"  {s} at c1 ({SHAPE_DURATION})", file=sys.stderr, flush=True)
                    shapes[s] = wrk(port, token, 1, shape_lua[s], SHAPE_DURATION)
            results[name] = Measured(median(runs[name]), peak_rss_mb(process.pid), shapes)
            print(f"  {results[name]}", file=sys.stderr, flush=True)
    finally:
        for name, (_, process) in servers.items():
            if name == "Prism mock":
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
            else:
                stop(process)

    print(
        f"\nList endpoint, varied mix ({len(SHAPES)} shapes, {len(mix):,} URLs, seed {SEED}), "
        f"{facts and DATA.name}, SQLite; wrk -t2 -c64 -d{DURATION}, median of {ROUNDS} taken "
        f"in turns, after {WARMUP} of warm-up; "
        f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n"
    )
    print("| server | req/s | p50 ms | p99 ms | non-2xx | socket errors | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for name, m in results.items():
        r = m.mix
        print(
            f"| {name} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.non_2xx} | "
            f"{r.errors} | {m.rss_mb:.0f} |"
        )
    prism_rps = results["Prism mock"].mix.rps
    print(
        "\nThroughput against Prism: "
        + ", ".join(
            f"{name} {m.mix.rps / prism_rps:.2f}x"
            for name, m in results.items()
            if name != "Prism mock"
        )
    )
    for name, m in results.items():
        if not m.shapes:
            continue
        print(f"\n{name}, each shape alone at c1 (wrk -t1 -c1 -d{SHAPE_DURATION}):\n")
        print("| shape | req/s | p50 ms | p90 ms | p99 ms | non-2xx |")
        print("|---|---|---|---|---|---|")
        for s, r in m.shapes.items():
            print(
                f"| {s} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p90_ms:.2f} | {r.p99_ms:.2f} | "
                f"{r.non_2xx + r.errors} |"
            )


if __name__ == "__main__":
    main()
