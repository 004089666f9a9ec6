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

Each engine of ENGINES has a store of RECORDINGS recordings, seeded once through the reckit CLI
(``accounts create``, ``apps create``, ``tokens create``, ``reckit seed``) and kept:

- SQLite: bench/.data/http-<RECORDINGS> (shared with http_vs_prism.py);
- PostgreSQL: the database ``reckit_http_<RECORDINGS>`` on the server of PG_URL, created
  there, with its data dir (ids.json, secret.key, node.id) in
  bench/.data/http-<RECORDINGS>-postgres. A later run finds it by that ids.json, the database
  and its RECORDINGS recordings, and seeds it again (dropping the database) only when one is
  missing.

Each engine's URLs come from the same generator with the same seed, on its own store's IDs and
time range. All the servers run side by side, idle but for the one measured: ``reckit serve``
with each of WORKERS workers on each engine's store, each on a port of its own (the PostgreSQL
ones with RECKIT_DATABASE_URL, the SQLite ones without; all with ``--no-recorder``: a list
request needs no recorder), and the Prism mock. wrk runs the whole mix at c64 against each
server in turn, ROUNDS times (the median run: req/s, p50, p99; non-2xx of all runs; peak RSS of
the reckit processes, the server and its workers: PostgreSQL's own server processes, which
serve the PostgreSQL rows, are not counted); then, for reckit with one worker on each engine,
each shape alone at c1 (p50, p90, p99).

    bash -c 'source scripts/setup.sh && python bench/http_mix.py'
    (wrk and Prism are installed as http_vs_prism.sh installs them; for PostgreSQL, a server
    at PG_URL that lets its user create databases.)

Before each server's measured run the same mix runs unmeasured for WARMUP (5s): the first
requests of a fresh process resolve each title word's meetings once (tens of milliseconds each
for the broad ones) and read the day counts once; the table is the steady state after that.

Settings (environment): RECORDINGS (1000000), ENGINES (sqlite,postgres), PG_URL
(postgresql://postgres@127.0.0.1:5432/postgres: the server, and the database connected to in
order to create the benchmark's), DURATION (10s, the mix), SHAPE_DURATION (5s), WARMUP (5s; 0s
for none), ROUNDS (3), WORKERS (1,2), SEED (1), PER_SHAPE (3000 URLs per shape). Servers and
wrk share the machine's cores, and PostgreSQL's server runs on them too: figures from a busy
machine are noisy (the table says the load average).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

from http_vs_prism import (
    DATA,
    PRISM_PORT,
    RECKIT_PORT,
    RECORDINGS,
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
ENGINES = [e.strip() for e in os.environ.get("ENGINES", "sqlite,postgres").split(",") if e.strip()]
PG_URL = os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# The PostgreSQL store: a database on PG_URL's server, and a data dir of its own beside the
# SQLite one (its ids.json, and the secret.key its tokens were made with).
PG_DB = f"reckit_http_{RECORDINGS}"
PG_DATA = DATA.with_name(f"{DATA.name}-postgres")
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


def pg_store_url() -> str:
    """PG_URL with the benchmark's database (PG_DB) in place of the one it names."""
    parts = urlsplit(PG_URL)
    return urlunsplit(parts._replace(path=f"/{PG_DB}"))


def reckit_pg(*args: str, capture: bool = True) -> str:
    """A reckit command on the PostgreSQL store (RECKIT_DATABASE_URL, PG_DATA)."""
    out = subprocess.run(
        ["reckit", *args, "--data-dir", str(PG_DATA)],
        env={**os.environ, "RECKIT_DATABASE_URL": pg_store_url()},
        check=True,
        capture_output=capture,
        text=True,
    )
    return out.stdout or ""


def pg_seeded(ids: dict[str, str]) -> bool:
    """Whether PG_DB exists and holds the RECORDINGS recordings of the app in ``ids``."""
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
    if found is None:
        return False
    try:
        with psycopg.connect(pg_store_url()) as conn:
            row = conn.execute(
                "SELECT count(*) FROM recordings WHERE app_id = %s", (ids["app_id"],)
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return False
    return row is not None and row[0] == RECORDINGS


def prepare_pg_store() -> dict[str, str]:
    """As ``http_vs_prism.prepare_store``, on PostgreSQL: the database PG_DB, seeded once
    through the reckit CLI; its IDs in PG_DATA/ids.json."""
    ids_file = PG_DATA / "ids.json"
    if ids_file.exists():
        ids: dict[str, str] = json.loads(ids_file.read_text())
        if pg_seeded(ids):
            return ids
        print(f"{PG_DB} is missing or not fully seeded: seeding it again", flush=True)
    shutil.rmtree(PG_DATA, ignore_errors=True)
    PG_DATA.mkdir(parents=True)
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        name = sql.Identifier(PG_DB)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    reckit_pg("migrate")
    account = json.loads(reckit_pg("accounts", "create", "--name", "bench", "--json"))
    account_id = account["account_id"]
    app = json.loads(reckit_pg("apps", "create", "--account", account_id, "--name", "b", "--json"))
    token = json.loads(reckit_pg("tokens", "create", "--account", account_id, "--json"))["token"]
    print(f"seeding {RECORDINGS:,} recordings (once; kept in database {PG_DB})", flush=True)
    reckit_pg("seed", "--app", app["app_id"], "--recordings", str(RECORDINGS), capture=False)
    with psycopg.connect(pg_store_url(), autocommit=True) as conn:
        # Write the load out now, not in a checkpoint in the middle of the measured runs.
        conn.execute("CHECKPOINT")
    ids = {"account_id": account_id, "app_id": app["app_id"], "token": token}
    ids_file.write_text(json.dumps(ids))
    return ids


def store_facts(engine: str, app_id: str) -> tuple[int, int, list[str]]:
    """(first and last invoked_time, meeting IDs with recordings), read from the SQLite file
    or through psycopg from the PostgreSQL database."""
    query_time = "SELECT min(invoked_time), max(invoked_time) FROM recordings WHERE app_id = {}"
    query_meetings = "SELECT id FROM meetings WHERE app_id = {} AND recording_count > 0 ORDER BY id"
    if engine == "postgres":
        with psycopg.connect(pg_store_url()) as pg:
            row = pg.execute(query_time.format("%s"), (app_id,)).fetchone()
            meetings = [str(r[0]) for r in pg.execute(query_meetings.format("%s"), (app_id,))]
        assert row is not None
        return int(row[0]), int(row[1]), meetings
    conn = sqlite3.connect(f"file:{DATA / 'reckit.sqlite3'}?mode=ro", uri=True)
    try:
        first, last = conn.execute(query_time.format("?"), (app_id,)).fetchone()
        meetings = [r[0] for r in conn.execute(query_meetings.format("?"), (app_id,))]
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


def serve_reckit_on(engine: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``reckit serve`` on the engine's store, as ``http_vs_prism.serve_reckit``, on ``port``:
    SQLite without RECKIT_DATABASE_URL, PostgreSQL with it pointing at PG_DB. Without the
    built-in recorder: a list request needs none, its polls would load the server measured,
    and only one recorder may hold a data dir's capture directory (the servers of one engine
    share their data dir, and any other ``reckit serve`` on it would keep them from starting)."""
    env = {**os.environ}
    env.pop("RECKIT_DATABASE_URL", None)
    data = DATA
    if engine == "postgres":
        env["RECKIT_DATABASE_URL"] = pg_store_url()
        data = PG_DATA
    args = ["reckit", "serve", "--port", str(port), "--no-access-log", "--workers", str(workers)]
    return subprocess.Popen(
        [*args, "--no-recorder", "--data-dir", str(data)],
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


@dataclass
class Store:
    """One engine's store, and the URLs sent to it."""

    engine: str
    token: str
    base: str  # the list path, with the store's account and app
    mix: Path  # wrk's script of the whole mix
    shapes: dict[str, Path]  # one per shape
    urls: int


def open_store(engine: str, tmp: Path) -> Store:
    """The engine's store, seeded once and migrated, and its wrk scripts: the same generator,
    the same seed, on the store's own IDs, time range and meetings."""
    if engine == "postgres":
        ids = prepare_pg_store()
        reckit_pg("migrate")  # a one-time cost after an upgrade: not inside the measured server
    else:
        ids = prepare_store()
        reckit("migrate")
    base = BASE.format(a=ids["account_id"], p=ids["app_id"])
    facts = store_facts(engine, ids["app_id"])
    rng = random.Random(SEED)
    by_shape = {s: shape_paths(s, rng, base, facts, PER_SHAPE) for s in SHAPES}
    mix = [p for paths in by_shape.values() for p in paths]
    rng.shuffle(mix)
    return Store(
        engine,
        ids["token"],
        base,
        lua_script(mix, tmp / f"{engine}-mix.lua"),
        {s: lua_script(paths, tmp / f"{engine}-{s}.lua") for s, paths in by_shape.items()},
        len(mix),
    )


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    store: Store
    workers: int  # 0: the Prism mock


def main() -> None:
    if not ENGINES or not set(ENGINES) <= set(LABELS):
        raise SystemExit(f"ENGINES: a comma-separated subset of {','.join(LABELS)}")
    DATA.mkdir(parents=True, exist_ok=True)  # Prism's document is written there
    tmp = Path(tempfile.mkdtemp(prefix="reckit-mix-"))
    stores = [open_store(engine, tmp) for engine in ENGINES]

    results: dict[str, Measured] = {}
    load_before = os.getloadavg()[0]  # the machine's other work, for reading the figures
    # Every server runs from the start; the measured runs take turns, ROUNDS times, so that
    # the machine's other work weighs on each alike (the median run of each is shown).
    servers: dict[str, Server] = {}
    try:
        port = RECKIT_PORT
        for store in stores:
            for workers in WORKERS:
                name = (
                    f"reckit, {LABELS[store.engine]}, {workers} worker{'s' if workers > 1 else ''}"
                )
                process = serve_reckit_on(store.engine, port, workers)
                servers[name] = Server(port, process, store, workers)
                port += 1
        for server in servers.values():
            auth = {"Authorization": f"Bearer {server.store.token}"}
            wait_for(f"http://127.0.0.1:{server.port}{server.store.base}?per_page=25", auth)
        first = next(iter(servers.values()))
        auth = {"Authorization": f"Bearer {first.store.token}"}
        example = httpx.get(
            f"http://127.0.0.1:{first.port}{first.store.base}?per_page=25", headers=auth
        )
        # Prism answers any account and app alike: it gets the first store's mix.
        prism = start_prism(prism_document(example.json()))
        servers["Prism mock"] = Server(PRISM_PORT, prism, first.store, 0)
        wait_for(f"http://127.0.0.1:{PRISM_PORT}{first.store.base}?per_page=25", auth)
        for name, server in servers.items():
            print(f"{name}: warm-up", file=sys.stderr, flush=True)
            warm_up(server.port, server.store.token, server.store.mix)
        runs: dict[str, list[Run]] = {name: [] for name in servers}
        for round_no in range(ROUNDS):
            for name, server in servers.items():
                print(f"round {round_no + 1}: {name}, mix at c64", file=sys.stderr, flush=True)
                runs[name].append(
                    wrk(server.port, server.store.token, 64, server.store.mix, DURATION)
                )
        for name, server in servers.items():
            shapes: dict[str, Run] = {}
            if server.workers == 1:
                print(f"{name}: each shape at c1", file=sys.stderr, flush=True)
                for s in SHAPES:
                    print(f"  {s} at c1 ({SHAPE_DURATION})", file=sys.stderr, flush=True)
                    shapes[s] = wrk(
                        server.port, server.store.token, 1, server.store.shapes[s], SHAPE_DURATION
                    )
            # Peak RSS of the reckit processes (or Prism's node process), not of PostgreSQL's.
            results[name] = Measured(median(runs[name]), peak_rss_mb(server.process.pid), shapes)
            print(f"  {results[name]}", file=sys.stderr, flush=True)
    finally:
        for name, server in servers.items():
            if name == "Prism mock":
                os.killpg(server.process.pid, signal.SIGTERM)
                server.process.wait(30)
            else:
                stop(server.process)

    where = {"sqlite": f"SQLite ({DATA.name})", "postgres": f"PostgreSQL ({PG_DB})"}
    print(
        f"\nList endpoint, varied mix ({len(SHAPES)} shapes, {stores[0].urls:,} URLs per "
        f"engine, seed {SEED}), {RECORDINGS:,} recordings on "
        f"{' and '.join(where[s.engine] for s in stores)}; wrk -t2 -c64 -d{DURATION}, median "
        f"of {ROUNDS} taken in turns, after {WARMUP} of warm-up; "
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
    print(
        "Peak RSS: the reckit server's processes (parent and workers), each one's peak added "
        "up; PostgreSQL's own server processes are not counted."
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
