"""How fast webhook events go out: from a recording's status change (its transaction committed)
to a 2xx at a receiver, through reckit's outbox and sender (webhooks/runner.py) with their
production defaults (8 deliveries at once per node, a round every 0.2 s when idle).

A store (SQLite in a temporary directory; PostgreSQL too when it answers at
RECKIT_TEST_POSTGRES_URL, a fresh database made for the run), one app with one webhook
subscribed to ``recording.statusUpdate``, a receiver on 127.0.0.1 (Python's
ThreadingHTTPServer, answering 200 at once), and the sender running on its own thread. Each
event is one real status change through ``live_repository.transition`` (INVOKED → RECORDING of a
recording), one transaction each; its delay is from that commit to the receiver reading the
request. Two shapes:

- burst: ``--events`` changes as fast as one writer commits them; events/s is the number over
  the time from the first commit to the last arrival;
- paced: ``--paced`` changes at ``--rate`` per second; the delays are the sender's own (no
  queue), p50/p99/max.

    .venv/bin/python bench/webhooks.py [--events 1000] [--paced 300] [--rate 50] [--json]

The table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from tests.support.builders import add_meeting
from tests.support.live import new_tenant
from tests.support.pg import new_pg_database, pg_available
from tests.support.webhook_receiver import Receiver

from reckit.clock import SystemClock
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.ids import new_uuid
from reckit.recordings import lifecycle
from reckit.recordings import live_repository as live
from reckit.recordings import repository as recordings
from reckit.recordings.models import NewRecording
from reckit.webhooks import service
from reckit.webhooks.events import ensure_key
from reckit.webhooks.runner import WebhookPolicy, WebhookRunner


@dataclass
class Row:
    engine: str
    shape: str
    events: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _store(engine: str) -> Iterator[Database]:
    with contextlib.ExitStack() as stack:
        if engine == "sqlite":
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            db = Database(f"sqlite:///{tmp / 'bench.sqlite3'}")
        else:
            db = Database(stack.enter_context(new_pg_database()))
        stack.callback(db.close)
        migrate(db)
        yield db


def _recordings(db: Database, app_id: str, n: int) -> list[str]:
    meeting = add_meeting(db, app_id, "bench")
    now = SystemClock().now_ms()
    ids = [new_uuid() for _ in range(n)]
    with db.transaction(write=True) as tx:
        for rid in ids:
            recordings.insert(
                tx,
                NewRecording(
                    id=rid,
                    app_id=app_id,
                    meeting_id=meeting.id,
                    status="INVOKED",
                    invoked_time=now,
                    output_file_name=f"{rid}.mp4",
                ),
            )
    return ids


def _begin(db: Database, rid: str) -> None:
    now = SystemClock().now_ms()
    with db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, rid, lock=True)
        assert rec is not None
        change = lifecycle.began(rec, now, None)
        assert change is not None and live.transition(tx, rec, change, now)


def _run(engine: str, shape: str, n: int, rate: float | None) -> Row:
    with _store(engine) as db, Receiver() as receiver:
        t = new_tenant(db)
        body = {"name": "bench", "url": receiver.url, "events": ["recording.statusUpdate"]}
        with db.transaction(write=True) as tx:
            ensure_key(tx, SystemClock().now_ms())
            service.create(tx, SystemClock().now_ms(), t.app_id, orjson.dumps(body), True)
        ids = _recordings(db, t.app_id, n)
        runner = WebhookRunner(
            db, SystemClock(), WebhookPolicy(node_id="bench", allow_private=True)
        )
        committed: dict[str, float] = {}
        runner.start()
        try:
            started = time.monotonic()
            for i, rid in enumerate(ids):
                if rate is not None:
                    pause = started + i / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                _begin(db, rid)
                committed[rid] = time.monotonic()
            got = receiver.wait_for(n, timeout=120)
        finally:
            runner.close()
    assert len(got) >= n, f"{len(got)} of {n} arrived"
    arrived: dict[str, float] = {}
    for r in got:
        arrived.setdefault(orjson.loads(r.body)["recording"]["id"], r.at)
    delays = sorted((arrived[rid] - committed[rid]) * 1000 for rid in ids)
    seconds = max(arrived.values()) - min(committed.values())
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    return Row(
        engine,
        shape,
        n,
        round(seconds, 2),
        round(n / seconds, 1),
        round(statistics.median(delays), 1),
        round(p99, 1),
        round(delays[-1], 1),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="events of the burst")
    parser.add_argument("--paced", type=int, default=300, help="events of the paced run")
    parser.add_argument("--rate", type=float, default=50.0, help="paced events per second")
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args()
    engines = ["sqlite"] + ([] if pg_available() else ["postgres"])
    rows: list[Row] = []
    for engine in engines:
        for shape, n, rate in (("burst", args.events, None), ("paced", args.paced, args.rate)):
            _log(f"{engine} {shape}: {n} events …")
            rows.append(_run(engine, shape, n, rate))
            _log(f"  {rows[-1]}")
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    head = ("engine", "shape", "events", "seconds", "events/s", "p50 ms", "p99 ms", "max ms")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        print(" | ".join(str(v) for v in asdict(r).values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
