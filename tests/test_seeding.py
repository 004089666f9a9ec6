"""`reckit seed` data is realistic, deterministic and consistent with the list endpoint."""

from __future__ import annotations

import random
import secrets
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.recordings import repository
from reckit.recordings.models import STATUSES, ListQuery
from reckit.seeding import SeedPlan, make_meetings, make_recordings, seed
from reckit.timestamps import DAY_MS
from tests.support.builders import NOW
from tests.support.live import new_tenant

KEY = secrets.token_bytes(32)


def _seeded(db: Database, n: int, seed_value: int = 5) -> str:
    tenant = new_tenant(db)
    plan = SeedPlan(tenant.app_id, n, max(1, n // 8), seed_value, NOW, "http://127.0.0.1", KEY)
    with db.transaction(write=True) as tx:
        seed(tx, plan)
    return tenant.app_id


def _all(db: Database, app_id: str, **kw: object) -> tuple[int, list[tuple[object, ...]]]:
    with db.transaction() as tx:
        return repository.list_page(tx, app_id, ListQuery(per_page=10_000, **kw), NOW)  # type: ignore[arg-type]


def test_seeded_data_is_realistic(database: Database) -> None:
    app_id = _seeded(database, 4000)
    total, listed = _all(database, app_id)
    assert total == len(listed) == 4000
    with database.transaction() as tx:
        rows = tx.all(
            "SELECT download_url, download_url_expiry, invoked_time, started_time, status,"
            " stopped_time FROM recordings WHERE app_id = ?",
            (app_id,),
        )
    statuses = Counter(r[4] for r in rows)
    assert set(statuses) == set(STATUSES)
    assert statuses["UPLOADED"] > total * 0.8
    for r in rows:
        invoked, started, stopped, expiry = r[2], r[3], r[5], r[1]
        assert NOW - 731 * DAY_MS <= int(invoked) <= NOW
        for t in (started, stopped):
            assert t is None or int(invoked) <= int(t) <= NOW
        if started is not None and stopped is not None:
            assert int(started) <= int(stopped)
        if r[4] in ("INVOKED", "RECORDING", "PAUSED", "UPLOADING"):
            assert int(invoked) >= NOW - DAY_MS
        if expiry is not None:
            assert r[4] == "UPLOADED" and r[0] is not None
    expired, _ = _all(database, app_id, expired=True)
    live, _ = _all(database, app_id, expired=False)
    assert 0 < expired < total and expired + live == total
    found, _ = _all(database, app_id, search="standup")
    assert 0 < found < total


def test_same_seed_same_data() -> None:
    plan = SeedPlan("a" * 32, 500, 60, 9, NOW, "http://127.0.0.1", KEY)
    runs = []
    for _ in range(2):
        rng = random.Random(plan.seed)
        meetings = make_meetings(plan, rng)
        runs.append((meetings, list(make_recordings(plan, [m.id for m in meetings]))))
    assert runs[0] == runs[1]
    other = SeedPlan("a" * 32, 500, 60, 10, NOW, "http://127.0.0.1", KEY)
    rng = random.Random(other.seed)
    assert make_meetings(other, rng) != runs[0][0]


def test_two_apps_can_take_the_same_seed(database: Database) -> None:
    a = _seeded(database, 200, seed_value=11)
    b = _seeded(database, 200, seed_value=11)
    ids_a = {r[0] for r in _all(database, a)[1]}
    ids_b = {r[0] for r in _all(database, b)[1]}
    assert len(ids_a) == len(ids_b) == 200 and not ids_a & ids_b


def _journal(db: Database) -> str:
    with db.transaction() as tx:
        row = tx.one("PRAGMA journal_mode")
    assert row is not None
    return str(row[0]).lower()


def test_a_load_bypasses_the_wal_only_when_alone(tmp_path: Path) -> None:
    """SQLite: a bulk load writes its pages once (rollback journal) when nothing else has the
    store open, and leaves it in WAL mode; beside a running server's connection it keeps the
    WAL and that reader is not disturbed."""
    db = Database(f"sqlite:///{tmp_path / 'load.sqlite3'}")
    migrate(db)
    try:
        with db.load_journal():
            assert _journal(db) == "delete"
            app_id = _seeded(db, 300)
            tenant = new_tenant(db)
            with db.transaction(write=True) as tx:
                seed(tx, SeedPlan(tenant.app_id, 50, 5, 1, NOW, "http://127.0.0.1", KEY))
                # A server starting mid-load connects and reads what was committed before it.
                starting = Database(db.url)
                try:
                    assert _all(starting, app_id)[0] == 300
                    assert _all(starting, tenant.app_id)[0] == 0
                finally:
                    starting.close()
        assert _journal(db) == "wal"
        assert _all(db, tenant.app_id)[0] == 50
        assert _all(db, app_id)[0] == 300
        reader = sqlite3.connect(tmp_path / "load.sqlite3")  # another process's connection
        try:
            assert reader.execute("SELECT count(*) FROM recordings").fetchone() == (350,)
            with db.load_journal():
                assert _journal(db) == "wal"
                second = _seeded(db, 200)
            assert reader.execute("SELECT count(*) FROM recordings").fetchone() == (550,)
        finally:
            reader.close()
        assert _all(db, second)[0] == 200 and _journal(db) == "wal"
    finally:
        db.close()


def _counts(db: Database, app_id: str, sql: str) -> set[tuple[object, ...]]:
    with db.transaction() as tx:
        return {
            tuple(int(v) if isinstance(v, int) else v for v in r) for r in tx.all(sql, (app_id,))
        }


def test_seeded_counts_match_a_scan(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counts a seed writes beside the recordings (per day and status, per expiry day, per
    status, day and expiry day, per meeting) equal plain COUNT scans of what it wrote; also for
    a second seed into an app that already has recordings (the bulk path: indexes rebuilt)."""
    from reckit import seeding

    tenant = new_tenant(database)
    app_id = tenant.app_id
    for seed_value, n in ((3, 1200), (4, 800)):
        plan = SeedPlan(app_id, n, max(1, n // 8), seed_value, NOW, "http://127.0.0.1", KEY)
        with database.transaction(write=True) as tx:
            seed(tx, plan)
    bulk = new_tenant(database)
    # The bulk path: rows from generator processes, indexes dropped and built again.
    monkeypatch.setattr(seeding, "BULK_THRESHOLD", 500)
    monkeypatch.setattr(seeding, "CHUNK", 100)
    with database.transaction(write=True) as tx:
        seed(tx, SeedPlan(bulk.app_id, 900, 100, 6, NOW, "http://127.0.0.1", KEY))
    day = "invoked_time / 86400000"
    expiry_day = "download_url_expiry / 86400000"
    pairs = [
        (
            "SELECT day, status, n FROM recording_day_counts WHERE app_id = ? AND n <> 0",
            f"SELECT {day}, status, count(*) FROM recordings WHERE app_id = ?"
            f" GROUP BY {day}, status",
        ),
        (
            "SELECT day, n FROM recording_expiry_counts WHERE app_id = ? AND n <> 0",
            f"SELECT {expiry_day}, count(*) FROM recordings WHERE app_id = ?"
            f" AND download_url_expiry IS NOT NULL GROUP BY {expiry_day}",
        ),
        (
            "SELECT status, day, expiry_day, n FROM recording_expiry_status_counts"
            " WHERE app_id = ? AND n <> 0",
            f"SELECT status, {day}, {expiry_day}, count(*) FROM recordings WHERE app_id = ?"
            f" AND download_url_expiry IS NOT NULL GROUP BY status, {day}, {expiry_day}",
        ),
        (
            "SELECT id, recording_count, first_invoked_time, last_invoked_time FROM meetings"
            " WHERE app_id = ? AND recording_count <> 0",
            "SELECT meeting_id, count(*), min(invoked_time), max(invoked_time) FROM recordings"
            " WHERE app_id = ? GROUP BY meeting_id",
        ),
    ]
    for app in (app_id, bulk.app_id):
        for kept, scanned in pairs:
            assert _counts(database, app, kept) == _counts(database, app, scanned) != set()
        for status in STATUSES:
            total, _ = _all(database, app, statuses=(status,))
            with database.transaction() as tx:
                row = tx.one(
                    "SELECT count(*) FROM recordings WHERE app_id = ? AND status = ?",
                    (app, status),
                )
            assert row is not None and total == int(row[0]) > 0
    assert _all(database, app_id)[0] == 2000 and _all(database, bulk.app_id)[0] == 900


def test_a_load_checks_its_meetings_in_bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load (load_journal) does not look foreign keys up row by row on SQLite: a recording
    whose meeting is not the app's still fails the seed, and nothing of it is kept. The
    connection checks foreign keys again afterwards."""
    from reckit import seeding

    db = Database(f"sqlite:///{tmp_path / 'refs.sqlite3'}")
    migrate(db)
    made = seeding._listed_rows

    def one_stray(*args: object) -> Iterator[list[tuple[object, ...]]]:
        for i, rows in enumerate(made(*args)):  # type: ignore[arg-type]
            yield [(*rows[0][:2], "f" * 36, *rows[0][3:]), *rows[1:]] if i == 0 else rows

    try:
        tenant = new_tenant(db)
        monkeypatch.setattr(seeding, "_listed_rows", one_stray)
        with (
            pytest.raises(RuntimeError, match="meetings that are not the app's"),
            db.load_journal(),
            db.transaction(write=True) as tx,
        ):
            seed(tx, SeedPlan(tenant.app_id, 300, 30, 1, NOW, "http://127.0.0.1", KEY))
        assert _all(db, tenant.app_id)[0] == 0
        with db.transaction() as tx:
            assert tx.one("PRAGMA foreign_keys") == (1,)
    finally:
        db.close()


def test_generator_processes_make_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A big plan's rows come from several child processes, each making every n-th chunk:
    together they give the rows in-process generation gives, in the same order."""
    from reckit import seeding
    from reckit.meetings import render as meeting_render

    monkeypatch.setattr(seeding, "CHUNK", 150)
    plan = SeedPlan("b" * 32, 1000, 90, 7, NOW, "http://127.0.0.1", KEY)
    ms = make_meetings(plan, random.Random(plan.seed))
    listed = ([m.id for m in ms], [meeting_render.list_part(m) for m in ms])
    with seeding._generated(plan, listed) as rows:
        in_process = [r for chunk in rows for r in chunk]
    monkeypatch.setattr(seeding, "BULK_THRESHOLD", 500)
    monkeypatch.setattr(seeding, "_cores", lambda: 3)
    with seeding._generated(plan, listed) as rows:
        chunks = list(rows)
    assert len(chunks) == 8  # 7 chunks of past recordings, one of in-progress ones
    assert [r for chunk in chunks for r in chunk] == in_process
    assert len(in_process) == 1000 and len({r[0] for r in in_process}) == 1000
    times = [r[5] for r in in_process]
    assert times == sorted(times)


def test_seeded_links_verify() -> None:
    """Seeded download links are signed as delivery/links.py signs them."""
    from reckit.crypto import SecretBox
    from reckit.delivery.links import Links, Verdict

    plan = SeedPlan("a" * 32, 300, 40, 2, NOW, "http://127.0.0.1:8787/", KEY)
    links = Links(plan.public_url, SecretBox(KEY))
    checked = 0
    for r in make_recordings(plan, [m.id for m in make_meetings(plan, random.Random(2))]):
        for url in (r.download_url, r.audio_download_url):
            if url is None:
                continue
            path, _, query = url.removeprefix("http://127.0.0.1:8787/dl/").partition("?e=")
            expiry, _, signature = query.partition("&s=")
            assert links.url(path, int(expiry)) == url
            assert links.check(path, expiry, signature, int(expiry) - 1) is Verdict.OK
            checked += 1
    assert checked > 100
