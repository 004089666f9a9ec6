"""``expired`` with a status and/or a time window (recordings/list_expiry.py, the per-status
expiry counts kept by counts.py) against a plain scan of the recordings, on both engines:
totals and pages for random queries while the clock passes expiries, after random transitions
through the one writer (live_repository.transition), after retention deletes bucket copies, and
the counts equal to a recount (counts.rebuild) throughout."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reckit.clock import ManualClock
from reckit.db.engine import Database, Tx
from reckit.db.schema import migrate
from reckit.recordings import counts, lifecycle, repository
from reckit.recordings import live_repository as live
from reckit.recordings.lifecycle import TRANSITIONS, Change, Event, Refused
from reckit.recordings.models import STATUSES, ListQuery, StoredRecording
from reckit.timestamps import DAY_MS
from tests.support.builders import NOW, add_meeting, add_recording
from tests.support.live import new_tenant
from tests.support.pg import own_database

SPAN_DAYS = 10
BASE = NOW - SPAN_DAYS * DAY_MS
HOUR = 3_600_000


def _expiry(rng: random.Random, around: int) -> int | None:
    """None, or an instant near ``around``: on a day boundary, just either side, or anywhere
    within a few days."""
    day = around - around % DAY_MS
    return rng.choice(
        (
            None,
            day,
            day - 1,
            day + DAY_MS - 1,
            around,
            around + rng.randrange(-3 * DAY_MS, 3 * DAY_MS),
        )
    )


def _fill(db: Database, app_id: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    meeting = add_meeting(db, app_id, "expiring", BASE - DAY_MS)
    last = BASE
    for i in range(n):
        invoked = BASE + rng.randrange(SPAN_DAYS * DAY_MS)
        if i % 9 == 0:
            invoked -= invoked % DAY_MS  # on a day boundary
        if i % 13 == 0:
            invoked = last  # the same instant as another: the ID breaks the tie
        last = invoked
        status = rng.choice(STATUSES)
        # Mostly final recordings have an expiry; a few others too (a catalogue row, loaded
        # as it was), so that a status change moves a recording that has one.
        expiring = status in ("UPLOADED", "ERRORED") or rng.random() < 0.3
        add_recording(
            db,
            app_id,
            meeting.id,
            status=status,
            invoked_time=invoked,
            started_time=None if status == "INVOKED" else invoked + 1_000,
            max_seconds=3_600,
            download_url_expiry=_expiry(rng, NOW) if expiring else None,
        )


def scan(tx: Tx, app_id: str, q: ListQuery, now: int) -> tuple[int, list[str]]:
    """The answer from every recording of the app, filtered and sorted here."""
    rows = tx.all(
        "SELECT id, status, invoked_time, download_url_expiry FROM recordings WHERE app_id = ?",
        (app_id,),
    )
    keep = []
    for rid, status, invoked, expiry in rows:
        if q.statuses and status not in q.statuses:
            continue
        if q.start_ms is not None and invoked < q.start_ms:
            continue
        if q.end_ms is not None and invoked > q.end_ms:
            continue
        expired = expiry is not None and expiry <= now
        if q.expired is not None and expired != q.expired:
            continue
        keep.append((int(invoked), str(rid)))
    keep.sort(reverse=q.descending)
    return len(keep), [rid for _, rid in keep[q.offset : q.offset + q.per_page]]


def check(db: Database, app_id: str, q: ListQuery, now: int) -> None:
    with db.transaction() as tx:
        total, rows = repository.list_page(tx, app_id, q, now)
        want_total, want_ids = scan(tx, app_id, q, now)
    assert total == want_total, q
    assert [r[0] for r in rows] == want_ids, q


def counts_match_a_recount(db: Database, app_id: str) -> None:
    sql = (
        "SELECT status, day, expiry_day, n FROM recording_expiry_status_counts"
        " WHERE app_id = ? AND n <> 0 ORDER BY status, day, expiry_day"
    )
    with db.transaction() as tx:
        kept = tx.all(sql, (app_id,))
        assert all(int(r[3]) > 0 for r in kept)
    with db.transaction(write=True) as tx:
        counts.rebuild(tx, app_id)
        recounted = tx.all(sql, (app_id,))
    assert [tuple(r) for r in kept] == [tuple(r) for r in recounted]


times = st.one_of(
    st.none(),
    st.integers(BASE - DAY_MS, NOW + DAY_MS),
    st.integers(-1, SPAN_DAYS + 1).map(lambda d: (BASE // DAY_MS + d) * DAY_MS),
    st.integers(-1, SPAN_DAYS + 1).map(lambda d: (BASE // DAY_MS + d + 1) * DAY_MS - 1),
)


@st.composite
def queries(draw: st.DrawFn) -> ListQuery:
    a, b = draw(times), draw(times)
    if a is not None and b is not None and a > b:
        a, b = b, a
    statuses = draw(st.lists(st.sampled_from(STATUSES), unique=True, max_size=3))
    return ListQuery(
        page_no=draw(st.integers(1, 40)),
        per_page=draw(st.sampled_from([0, 1, 3, 7, 25])),
        statuses=tuple(statuses) or None,
        start_ms=a,
        end_ms=b,
        expired=draw(st.booleans()),
        descending=draw(st.booleans()),
    )


# The clock: the data's own instants, either side of midnight, and days later (every expiry
# passed) or earlier (none).
nows = st.one_of(
    st.sampled_from(
        [
            NOW,
            NOW - 1,
            NOW - NOW % DAY_MS,
            NOW - NOW % DAY_MS - 1,
            NOW + DAY_MS,
            NOW + 5 * DAY_MS,
            NOW - 5 * DAY_MS,
        ]
    ),
    st.integers(NOW - 4 * DAY_MS, NOW + 4 * DAY_MS),
)


@pytest.fixture(scope="module")
def filled(database: Database) -> tuple[Database, str]:
    tenant = new_tenant(database)
    _fill(database, tenant.app_id, 240, seed=5)
    return database, tenant.app_id


def test_expired_with_status_or_window_matches_a_scan(filled: tuple[Database, str]) -> None:
    db, app_id = filled

    @settings(
        max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(q=queries(), now=nows)
    def run(q: ListQuery, now: int) -> None:
        check(db, app_id, q, now)

    run()


def test_every_page_of_each_shape_as_the_clock_passes_expiries(
    filled: tuple[Database, str],
) -> None:
    """Walking every page in turn gives each matching recording once, in order, as expiries
    pass hour by hour (ManualClock) over two days."""
    db, app_id = filled
    clock = ManualClock(NOW - DAY_MS)
    shapes: list[dict[str, Any]] = [
        {"statuses": ("UPLOADED",)},
        {"statuses": ("UPLOADED", "ERRORED")},
        {"start_ms": NOW - 4 * DAY_MS - 5, "end_ms": NOW - HOUR},
        {"statuses": ("ERRORED",), "start_ms": BASE + DAY_MS // 3},
    ]
    while clock.now_ms() <= NOW + DAY_MS:
        now = clock.now_ms()
        for shape in shapes:
            for expired in (True, False):
                for descending in (True, False):
                    q = ListQuery(per_page=500, expired=expired, descending=descending, **shape)
                    with db.transaction() as tx:
                        want_total, want_ids = scan(tx, app_id, q, now)
                    check(db, app_id, q, now)
                    for per_page in (7, 25):
                        ids: list[str] = []
                        for page_no in range(1, want_total // per_page + 2):
                            paged = ListQuery(
                                page_no=page_no,
                                per_page=per_page,
                                expired=expired,
                                descending=descending,
                                **shape,
                            )
                            with db.transaction() as tx:
                                total, rows = repository.list_page(tx, app_id, paged, now)
                            assert total == want_total
                            ids += [r[0] for r in rows]
                        assert ids == want_ids
        clock.advance(7 * HOUR)


def _send(rng: random.Random, rec: StoredRecording, event: Event, now: int) -> Change | None:
    links = {
        "download_url": "http://127.0.0.1/dl/a",
        "audio_download_url": None,
        "download_url_expiry": _expiry(rng, now) or now + DAY_MS,
    }
    bucket = links if rng.random() < 0.8 else None  # off: delivered without links
    files = {"m.mp4": {"key": "k/m.mp4", "size": 1, "sha256": "x", "role": "composite"}}
    send = {
        Event.BEGAN: lambda: lifecycle.began(rec, now, "s"),
        Event.PAUSE: lambda: lifecycle.act(rec, "pause", now),
        Event.RESUME: lambda: lifecycle.act(rec, "resume", now),
        Event.STOP: lambda: lifecycle.act(rec, "stop", now),
        Event.MAX_SECONDS: lambda: lifecycle.max_seconds_reached(rec),
        Event.EMPTY_ROOM: lambda: lifecycle.room_empty(rec, now),
        Event.FILES_IN: lambda: lifecycle.files_in(rec, files, 1.0),
        Event.DELIVERED: lambda: lifecycle.delivered(rec, now, bucket),
        Event.GIVEN_UP: lambda: lifecycle.given_up(rec, "gave up", links),
        Event.FAILED: lambda: lifecycle.failed(rec, now, "failed"),
        Event.UNCLAIMED: lambda: lifecycle.unclaimed(rec, now, "unclaimed"),
    }
    return send[event]()


def test_transitions_expiry_and_retention_keep_the_counts_exact(database: Database) -> None:
    """Random changes through the one writer (every status, expiries set by delivery), the
    clock moving on, retention deleting bucket copies (``mark_purged``): after each round the
    counts equal a recount and random queries equal a scan."""
    tenant = new_tenant(database)
    app_id = tenant.app_id
    _fill(database, app_id, 120, seed=11)
    rng = random.Random(17)
    clock = ManualClock(NOW - 2 * DAY_MS)
    with database.transaction() as tx:
        ids = [str(r[0]) for r in tx.all("SELECT id FROM recordings WHERE app_id = ?", (app_id,))]
    for round_no in range(12):
        now = clock.now_ms()
        with database.transaction(write=True) as tx:
            for rid in rng.sample(ids, 30):
                rec = live.get_by_id(tx, rid, lock=True)
                assert rec is not None
                events = [
                    e
                    for (s, e), to in TRANSITIONS.items()
                    if s.value == rec.status and to is not None
                ]
                if not events:
                    continue
                try:
                    change = _send(rng, rec, rng.choice(events), now)
                except (Refused, ValueError):
                    continue
                if change is not None:
                    assert live.transition(tx, rec, change)
            for rec in live.due_for_purge(tx, now):
                live.mark_purged(tx, rec.id, now)
        for _ in range(40):
            statuses = tuple(rng.sample(STATUSES, rng.randint(0, 2))) or None
            start = rng.choice((None, BASE + rng.randrange(SPAN_DAYS * DAY_MS)))
            q = ListQuery(
                page_no=rng.randint(1, 12),
                per_page=rng.choice((1, 5, 25)),
                statuses=statuses,
                start_ms=start,
                end_ms=rng.choice((None, NOW - rng.randrange(3 * DAY_MS))),
                expired=rng.choice((True, False)),
                descending=rng.random() < 0.5,
            )
            if q.start_ms is not None and q.end_ms is not None and q.start_ms > q.end_ms:
                continue
            check(database, app_id, q, now)
        if round_no % 4 == 3:
            counts_match_a_recount(database, app_id)
        clock.advance(rng.randrange(DAY_MS // 2))
    counts_match_a_recount(database, app_id)


def test_the_migration_fills_the_counts_of_an_existing_store(engine: str, tmp_path: Path) -> None:
    """A store made before migration 10 (its recordings in place, the table absent) gets the
    counts filled from its recordings: the same as a recount, and the list agrees with a
    scan. Migrations are applied by what is recorded, so one added beside is not skipped."""
    with own_database(engine, tmp_path) as db:
        tenant = new_tenant(db)
        _fill(db, tenant.app_id, 80, seed=23)
        with db.transaction(write=True) as tx:
            tx.script("DROP TABLE recording_expiry_status_counts")
            tx.run("DELETE FROM schema_version WHERE version = 10")
        assert migrate(db) == 1
        counts_match_a_recount(db, tenant.app_id)
        for expired in (True, False):
            q = ListQuery(per_page=25, page_no=2, expired=expired, statuses=("UPLOADED",))
            check(db, tenant.app_id, q, NOW)


def test_migration_12_puts_the_expiry_into_the_time_and_status_indexes(
    engine: str, tmp_path: Path
) -> None:
    """A store whose time and status indexes predate migration 12 (without the expiry) gets
    them rebuilt with it, and every shape of the expired filter still agrees with a scan."""
    old = {
        "recordings_by_time": "(app_id, invoked_time, id)",
        "recordings_by_status": "(app_id, status, invoked_time, id)",
    }
    with own_database(engine, tmp_path) as db:
        tenant = new_tenant(db)
        _fill(db, tenant.app_id, 80, seed=29)
        with db.transaction(write=True) as tx:
            for name, columns in old.items():
                tx.script(f"DROP INDEX {name};\nCREATE INDEX {name} ON recordings {columns}")
            tx.run("DELETE FROM schema_version WHERE version = 12")
        assert migrate(db) == 1
        with db.transaction() as tx:
            if engine == "sqlite":
                found = tx.all("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
            else:
                found = tx.all("SELECT indexname, indexdef FROM pg_indexes")
        definitions = {str(name): str(sql) for name, sql in found}
        for name in old:
            assert definitions[name].endswith("download_url_expiry)"), definitions[name]
        for expired in (True, False):
            for statuses in (None, ("UPLOADED",), ("UPLOADED", "ERRORED")):
                for page_no in (1, 2, 4):
                    q = ListQuery(per_page=7, page_no=page_no, expired=expired, statuses=statuses)
                    check(db, tenant.app_id, q, NOW)
