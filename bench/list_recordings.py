"""Latency of the list endpoint's store answer (page + total_count) at scale, per engine.

Seeds ``--recordings`` recordings (default 1,000,000) with reckit's own seeder into a fresh
SQLite file and a fresh PostgreSQL database (dropped at the end), then times, in-process,
``reckit.recordings.repository.list_page`` inside ``db.transaction()`` (``--render`` times
``reckit.recordings.service.list_recordings`` instead, which also renders the items) for a set
of list requests, and prints a markdown table of p50/p99 in milliseconds.

    .venv/bin/python bench/list_recordings.py [--recordings 1000000] [--runs 200]
        [--engines sqlite,postgres] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

This is a benchmark, not a test: the machine's noise shows in p99. On PostgreSQL the seeded
database gets a ``VACUUM`` before timing (what autovacuum does soon after a load; without it
every index-only scan also reads the table), unless ``--no-vacuum``. ``--keep DIR`` keeps the
seeded stores (and reuses them on the next run with the same size) for quick iterations.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from reckit import seeding
from reckit.accounts.service import create_account
from reckit.apps.service import create_app
from reckit.clock import ManualClock
from reckit.db import schema
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.recordings import repository, service
from reckit.recordings.models import ListQuery
from reckit.timestamps import DAY_MS, format_ms

TARGET_MS = {"sqlite": 5.0, "postgres": 10.0}
HOUR_MS = 3_600_000


@dataclass
class Store:
    engine: str
    db: Database
    app_id: str
    now_ms: int
    seed_s: float | None  # None when reused from --keep


@dataclass
class Result:
    name: str
    total: int
    samples: list[float] = field(default_factory=list)
    target: bool = True

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]  # nearest rank


def _queries(store: Store) -> list[tuple[str, ListQuery, bool]]:
    """(name, query, counts towards the targets)."""
    with store.db.transaction() as tx:
        _, first = repository.list_page(tx, store.app_id, ListQuery(per_page=1), store.now_ms)
    meeting_id = str(json.loads(first[0][2])["meeting"]["id"])  # the item (list_sql.LIST_COLUMNS)
    # A 30-day window whose edges are not day-aligned, ending two weeks ago.
    end = store.now_ms - 14 * DAY_MS - 5 * HOUR_MS - 1_234
    start = end - 30 * DAY_MS
    return [
        ("first page (25, no filter)", ListQuery(per_page=25), True),
        (
            "status UPLOADED,ERRORED + 30-day window",
            ListQuery(per_page=25, statuses=("UPLOADED", "ERRORED"), start_ms=start, end_ms=end),
            True,
        ),
        ("offset 500,000 (page 20001 of 25)", ListQuery(page_no=20_001, per_page=25), True),
        ("one meeting", ListQuery(per_page=25, meeting_id=meeting_id), True),
        ("count only (per_page=0)", ListQuery(per_page=0), True),
        (
            'search "falcon standup" (selective)',
            ListQuery(per_page=25, search="falcon standup"),
            True,
        ),
        ('search "review" (broad, one word)', ListQuery(per_page=25, search="review"), False),
        ("expired=true, first page", ListQuery(per_page=25, expired=True), False),
        ("ascending, first page", ListQuery(per_page=25, descending=False), False),
        (
            "expired=true + UPLOADED",
            ListQuery(per_page=25, expired=True, statuses=("UPLOADED",)),
            True,
        ),
        (
            "expired=false + UPLOADED",
            ListQuery(per_page=25, expired=False, statuses=("UPLOADED",)),
            True,
        ),
        (
            "expired=true + UPLOADED, page 4001",
            ListQuery(page_no=4_001, per_page=25, expired=True, statuses=("UPLOADED",)),
            True,
        ),
        (
            "expired=false + ERRORED, ascending",
            ListQuery(per_page=25, expired=False, statuses=("ERRORED",), descending=False),
            True,
        ),
        (
            "expired=true + UPLOADED,ERRORED + 30-day window",
            ListQuery(
                per_page=25,
                expired=True,
                statuses=("UPLOADED", "ERRORED"),
                start_ms=start,
                end_ms=end,
            ),
            True,
        ),
    ]


def _measure(store: Store, q: ListQuery, runs: int, warmup: int, render: bool) -> Result:
    clock = ManualClock(store.now_ms)
    answer: Callable[[], int]
    if render:

        def answer() -> int:
            with store.db.transaction() as tx:
                return service.list_recordings(tx, clock, store.app_id, q).total_count

    else:

        def answer() -> int:
            with store.db.transaction() as tx:
                return repository.list_page(tx, store.app_id, q, store.now_ms)[0]

    result = Result("", answer())
    for _ in range(warmup):
        answer()
    gc.collect()
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        answer()
        result.samples.append((time.perf_counter_ns() - t0) / 1e6)
    return result


def _fill(db: Database, engine: str, n: int) -> Store:
    with db.transaction(write=True) as tx:
        clock = ManualClock(int(time.time() * 1000))
        app = create_app(tx, clock, create_account(tx, clock, "bench"), "bench")
    plan = seeding.SeedPlan(
        app_id=app.id,
        recordings=n,
        meetings=max(1, n // 8),  # what `reckit seed` does
        seed=1,
        now_ms=int(time.time() * 1000),
        public_url="http://127.0.0.1:8000",
        master_key=secrets.token_bytes(32),
    )
    print(f"[{engine}] seeding {n:,} recordings ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    with db.load_journal(), db.transaction(write=True) as tx:  # as `reckit seed` loads
        seeding.seed(tx, plan)
    seed_s = time.perf_counter() - t0
    print(f"[{engine}] seeded in {seed_s:.1f} s", file=sys.stderr, flush=True)
    return Store(engine, db, app.id, plan.now_ms, seed_s)


@contextmanager
def _sqlite_store(n: int, keep: Path | None) -> Iterator[Store]:
    tmp = None
    if keep is None:
        tmp = Path(tempfile.mkdtemp(prefix="reckit-bench-"))
        where = tmp
    else:
        where = keep
        where.mkdir(parents=True, exist_ok=True)
    meta = where / f"sqlite-{n}.json"
    db = Database(f"sqlite:///{where / f'bench-{n}.sqlite3'}")
    try:
        if meta.exists():
            saved = json.loads(meta.read_text())
            store = Store("sqlite", db, saved["app_id"], saved["now_ms"], None)
        else:
            migrate(db)
            store = _fill(db, "sqlite", n)
            if keep is not None:
                meta.write_text(json.dumps({"app_id": store.app_id, "now_ms": store.now_ms}))
        yield store
    finally:
        db.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _pg_store(n: int, admin_url: str, keep: Path | None, vacuum: bool) -> Iterator[Store]:
    name = f"reckit_bench_{n}" if keep is not None else f"reckit_bench_{secrets.token_hex(4)}"
    meta = keep / f"postgres-{n}.json" if keep is not None else None
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    if meta is None or not meta.exists():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
    db = Database(url)
    try:
        if meta is not None and meta.exists():
            saved = json.loads(meta.read_text())
            store = Store("postgres", db, saved["app_id"], saved["now_ms"], None)
        else:
            migrate(db)
            store = _fill(db, "postgres", n)
            if vacuum:
                t0 = time.perf_counter()
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"VACUUM (ANALYZE) {', '.join(schema.COUNTED_TABLES)}".encode())
                    # Write the load out now: otherwise the server's own checkpoint of a
                    # gigabyte of fresh pages lands in the middle of the timed runs.
                    conn.execute(b"CHECKPOINT")
                print(
                    f"[postgres] VACUUM and CHECKPOINT in {time.perf_counter() - t0:.1f} s",
                    file=sys.stderr,
                )
            if meta is not None:
                meta.write_text(json.dumps({"app_id": store.app_id, "now_ms": store.now_ms}))
        yield store
    finally:
        db.close()
        if keep is None:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _run(store: Store, args: argparse.Namespace) -> list[Result]:
    results = []
    for name, q, counted in _queries(store):
        print(f"[{store.engine}] {name}", file=sys.stderr, flush=True)
        r = _measure(store, q, args.runs, args.warmup, args.render)
        r.name, r.target = name, counted
        results.append(r)
    return results


def _table(stores: list[Store], results: dict[str, list[Result]]) -> str:
    engines = [s.engine for s in stores]
    head = ["query", "total_count"]
    for e in engines:
        head += [f"{e} p50", f"{e} p99"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, first in enumerate(results[engines[0]]):
        cells = [first.name + ("" if first.target else " *"), f"{first.total:,}"]
        for e in engines:
            r = results[e][i]
            if r.total != first.total:
                cells[1] += f" ({e}: {r.total:,}!)"
            mark = "" if not r.target or r.pct(99) <= TARGET_MS[e] else " ✗"
            cells += [f"{r.pct(50):.2f}", f"{r.pct(99):.2f}{mark}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recordings", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=200, help="timed runs per query")
    p.add_argument("--warmup", type=int, default=20, help="untimed runs per query first")
    p.add_argument("--engines", default="sqlite,postgres")
    p.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server; the benchmark creates and drops its own database in it",
    )
    p.add_argument("--render", action="store_true", help="time the service (renders items)")
    p.add_argument("--no-vacuum", action="store_true", help="PostgreSQL: no VACUUM after seeding")
    p.add_argument("--keep", type=Path, default=None, help="keep/reuse seeded stores in DIR")
    args = p.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or not set(engines) <= set(TARGET_MS):
        p.error("--engines: a comma-separated subset of sqlite,postgres")

    stores: list[Store] = []
    results: dict[str, list[Result]] = {}
    for engine in engines:
        ctx = (
            _sqlite_store(args.recordings, args.keep)
            if engine == "sqlite"
            else _pg_store(args.recordings, args.pg_url, args.keep, not args.no_vacuum)
        )
        with ctx as store:
            results[engine] = _run(store, args)
            stores.append(store)

    what = "service.list_recordings (rendered)" if args.render else "repository.list_page"
    print(
        f"\n{args.recordings:,} recordings; {what} inside db.transaction(); "
        f"{args.runs} timed runs after {args.warmup} warm-up runs; milliseconds.\n"
    )
    for s in stores:
        seeded = "reused (--keep)" if s.seed_s is None else f"{s.seed_s:.1f} s"
        after = ""
        if s.engine == "postgres":
            after = "; no VACUUM" if args.no_vacuum else "; VACUUM, CHECKPOINT before timing"
        print(f"- {s.engine}: seeding {seeded}{after}; now = {format_ms(s.now_ms)}")
    print()
    print(_table(stores, results))
    print(
        "\n`*` not a target; `✗` p99 over the target "
        f"({', '.join(f'{e} {TARGET_MS[e]:g} ms' for e in engines)})."
    )
    worst = {e: max(r.pct(99) for r in results[e] if r.target) for e in engines}
    print("Worst p99 among the targets: " + ", ".join(f"{e} {worst[e]:.2f} ms" for e in engines))


if __name__ == "__main__":
    main()
