"""The store's list answer against brute force, on both engines: totals, pages and their order
for random combinations of every filter, and the per-day counts kept in step by writes."""

from __future__ import annotations

import dataclasses
import random
from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reckit.db.engine import Database, Tx
from reckit.recordings import counts, lifecycle, list_days, list_meetings, repository
from reckit.recordings import live_repository as live
from reckit.recordings.models import STATUSES, ListQuery, NewRecording, StoredRecording
from reckit.timestamps import DAY_MS
from tests.support.builders import NOW, Made, add_meeting, add_recording
from tests.support.live import new_tenant

SPAN_DAYS = 12


@pytest.fixture(scope="module")
def store(database: Database) -> tuple[Database, str, Made]:
    tenant = new_tenant(database)
    rng = random.Random(3)
    made = Made()
    for title in ("Alpha standup", "Beta review", "alpha BETA", None):
        made.meetings.append(add_meeting(database, tenant.app_id, title, NOW - 30 * DAY_MS))
    base = NOW - SPAN_DAYS * DAY_MS
    for i in range(260):
        invoked = base + rng.randrange(SPAN_DAYS * DAY_MS)
        if i % 7 == 0:
            invoked = invoked - invoked % DAY_MS  # exactly on a day boundary
        if i % 11 == 0 and made.recordings:
            invoked = made.recordings[-1].invoked_time
        expiry = rng.choice((None, NOW - DAY_MS, NOW, NOW + DAY_MS))
        made.recordings.append(
            add_recording(
                database,
                tenant.app_id,
                rng.choice(made.meetings).id,
                status=rng.choice(STATUSES),
                invoked_time=invoked,
                download_url_expiry=expiry,
            )
        )
    return database, tenant.app_id, made


def brute_force(made: Made, q: ListQuery, now: int) -> tuple[int, list[str]]:
    def keep(r: NewRecording) -> bool:
        if q.statuses and r.status not in q.statuses:
            return False
        if q.start_ms is not None and r.invoked_time < q.start_ms:
            return False
        if q.end_ms is not None and r.invoked_time > q.end_ms:
            return False
        if q.meeting_id is not None and r.meeting_id != q.meeting_id:
            return False
        expired = r.download_url_expiry is not None and r.download_url_expiry <= now
        if q.expired is not None and expired != q.expired:
            return False
        if q.search is not None:
            meeting = made.meeting(r.meeting_id)
            title = (meeting.title or "").lower()
            needle = q.search.lower()
            by_id = len(needle) >= 8 and meeting.id.startswith(needle)
            if needle not in title and not by_id:
                return False
        return True

    rows = sorted(
        (r for r in made.recordings if keep(r)),
        key=lambda r: (r.invoked_time, r.id),
        reverse=q.descending,
    )
    page = rows[q.offset : q.offset + q.per_page]
    return len(rows), [r.id for r in page]


BASE = NOW - SPAN_DAYS * DAY_MS
times = st.one_of(
    st.none(),
    st.integers(BASE - DAY_MS, NOW + DAY_MS),
    st.integers(-1, SPAN_DAYS + 1).map(lambda d: (BASE // DAY_MS + d) * DAY_MS),  # day-aligned
    st.integers(-1, SPAN_DAYS + 1).map(lambda d: (BASE // DAY_MS + d + 1) * DAY_MS - 1),
)


@st.composite
def queries(draw: st.DrawFn, made: Made) -> ListQuery:
    a, b = draw(times), draw(times)
    if a is not None and b is not None and a > b:
        a, b = b, a
    statuses = draw(st.lists(st.sampled_from(STATUSES), unique=True, max_size=3))
    meeting = draw(st.one_of(st.none(), st.sampled_from([m.id for m in made.meetings])))
    search = draw(st.one_of(st.none(), st.sampled_from(["alpha", "beta", "AL", "x", "review"])))
    return ListQuery(
        page_no=draw(st.integers(1, 30)),
        per_page=draw(st.sampled_from([0, 1, 3, 7, 25, 100])),
        statuses=tuple(statuses) or None,
        start_ms=a,
        end_ms=b,
        meeting_id=meeting if draw(st.booleans()) else None,
        expired=draw(st.sampled_from([None, None, True, False])),
        search=search if draw(st.integers(0, 3)) == 0 else None,
        descending=draw(st.booleans()),
    )


# The clock for the expired filter: the data's own instants, and midday, midnight, a day on.
nows = st.sampled_from(
    [NOW, NOW - 1, NOW - DAY_MS // 2, NOW - NOW % DAY_MS, NOW + DAY_MS, NOW + 3 * DAY_MS]
)


def test_list_page_matches_brute_force(store: tuple[Database, str, Made]) -> None:
    db, app_id, made = store

    @settings(
        max_examples=250, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(q=queries(made), now=nows)
    def check(q: ListQuery, now: int) -> None:
        with db.transaction() as tx:
            total, rows = repository.list_page(tx, app_id, q, now)
        want_total, want_ids = brute_force(made, q, now)
        assert total == want_total
        assert [r[0] for r in rows] == want_ids

    check()


@pytest.mark.parametrize("direct", [0, 5])
def test_the_deep_page_paths_match_brute_force(
    store: tuple[Database, str, Made], monkeypatch: pytest.MonkeyPatch, direct: int
) -> None:
    """The paths a large store takes, on this small one: pages found by walking the day
    counts from (almost) any offset, and the choice between gathering meetings' recordings
    and walking the time index made at every size."""
    monkeypatch.setattr(list_days, "_DIRECT_OFFSET", direct)
    monkeypatch.setattr(list_meetings, "_GATHER_ALWAYS", 0)
    # With direct=0 every search's page comes from its order (SQLite), else by merging.
    monkeypatch.setattr(list_meetings, "_ORDER_FROM", 0 if direct == 0 else 10**9)
    db, app_id, made = store

    @settings(
        max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(q=queries(made), now=nows)
    def check(q: ListQuery, now: int) -> None:
        with db.transaction() as tx:
            total, rows = repository.list_page(tx, app_id, q, now)
        want_total, want_ids = brute_force(made, q, now)
        assert total == want_total
        assert [r[0] for r in rows] == want_ids

    check()


def test_cached_day_counts_follow_every_write(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Totals and pages read from the whole days' counts kept per data version: each write
    (a new recording, a status change) is seen by the next list."""
    monkeypatch.setattr(list_days, "_DIRECT_OFFSET", 0)
    tenant = new_tenant(database)
    meeting = add_meeting(database, tenant.app_id, "cached days")
    made = Made(meetings=[meeting])

    def same() -> None:
        for statuses in (None, ("INVOKED",), ("INVOKED", "RECORDING")):
            for descending in (True, False):
                for page_no in (1, 2, 3):
                    q = ListQuery(
                        page_no=page_no, per_page=2, statuses=statuses, descending=descending
                    )
                    with database.transaction() as tx:
                        total, rows = repository.list_page(tx, tenant.app_id, q, NOW)
                    assert (total, [r[0] for r in rows]) == brute_force(made, q, NOW)

    for i in range(4):
        at = NOW - i * DAY_MS
        new = add_recording(database, tenant.app_id, meeting.id, status="INVOKED", invoked_time=at)
        made.recordings.append(new)
        same()
    with database.transaction(write=True) as tx:
        rec = live.get_by_id(tx, made.recordings[1].id, lock=True)
        assert rec is not None
        change = lifecycle.began(rec, NOW, None)
        assert change is not None and live.transition(tx, rec, change)
    made.recordings[1] = dataclasses.replace(made.recordings[1], status="RECORDING")
    same()


def test_status_changes_keep_day_counts_exact(database: Database) -> None:
    tenant = new_tenant(database)
    meeting = add_meeting(database, tenant.app_id, "counts")
    recs = [
        add_recording(
            database,
            tenant.app_id,
            meeting.id,
            status="INVOKED",
            invoked_time=NOW - i * DAY_MS // 3,
        )
        for i in range(9)
    ]

    def read(tx: Tx, rid: str) -> StoredRecording:
        rec = live.get_by_id(tx, rid)
        assert rec is not None
        return rec

    def began(rec: StoredRecording) -> lifecycle.Change:
        change = lifecycle.began(rec, NOW, None)
        assert change is not None
        return change

    with database.transaction(write=True) as tx:
        for r in recs[:5]:
            rec = read(tx, r.id)
            assert live.transition(tx, rec, began(rec)) is True
    with database.transaction() as tx:
        stale = read(tx, recs[1].id)  # RECORDING, as read before the pause below
    with database.transaction(write=True) as tx:
        rec = read(tx, recs[0].id)
        stop = lifecycle.act(rec, "stop", NOW)
        assert stop is not None and live.transition(tx, rec, stop) is True
        pause = lifecycle.act(stale, "pause", NOW)
        assert pause is not None and live.transition(tx, stale, pause) is True
        # Not in the status it was read in any more: nothing changes, and the counts stay exact.
        stop = lifecycle.act(stale, "stop", NOW)
        assert stop is not None and live.transition(tx, stale, stop) is False
        # A change is applied only to the recording as it was read when it was made.
        with pytest.raises(ValueError, match="applied to a INVOKED"):
            live.transition(tx, read(tx, recs[8].id), stop)
    for statuses, want in (
        (("INVOKED",), 4),
        (("RECORDING",), 3),
        (("PAUSED",), 1),
        (("UPLOADING",), 1),
        (None, 9),
        (("UPLOADED",), 0),
    ):
        with database.transaction() as tx:
            total, _ = repository.list_page(
                tx, tenant.app_id, ListQuery(per_page=0, statuses=statuses), NOW
            )
        assert total == want, statuses


def test_expiry_changes_keep_expiry_counts_exact(database: Database) -> None:
    """An upload sets the expiry (live_repository.transition); counts.expiry_moved moves one; a
    bulk load recounts. Either way the expired filter's totals match the rows, at any time of
    day."""
    tenant = new_tenant(database)
    meeting = add_meeting(database, tenant.app_id, "expiring")
    recs = [
        add_recording(
            database, tenant.app_id, meeting.id, status="UPLOADING", invoked_time=NOW - i * DAY_MS
        )
        for i in range(6)
    ]
    expiry = {r.id: NOW + (i - 3) * DAY_MS // 2 for i, r in enumerate(recs[:5])}
    with database.transaction(write=True) as tx:
        for rid, at in expiry.items():
            stored = live.get_by_id(tx, rid)
            assert stored is not None
            change = lifecycle.delivered(stored, NOW, {"download_url_expiry": at})
            assert change is not None and live.transition(tx, stored, change)
        # An expiry that moves (no transition moves one yet): a day on for the first.
        counts.expiry_moved(
            tx,
            tenant.app_id,
            expiry[recs[0].id],
            NOW + DAY_MS,
            status="UPLOADED",
            invoked_time=recs[0].invoked_time,
        )
        tx.run(
            "UPDATE recordings SET download_url_expiry = ? WHERE id = ?", (NOW + DAY_MS, recs[0].id)
        )
    expiry[recs[0].id] = NOW + DAY_MS

    def totals(now: int) -> tuple[int, int]:
        with database.transaction() as tx:
            return tuple(  # type: ignore[return-value]
                repository.list_page(tx, tenant.app_id, ListQuery(per_page=0, expired=e), now)[0]
                for e in (True, False)
            )

    def want(now: int) -> tuple[int, int]:
        n = sum(at <= now for at in expiry.values())
        return n, len(recs) - n

    for now in (NOW - 2 * DAY_MS, NOW - 1, NOW, NOW + DAY_MS // 2, NOW + 2 * DAY_MS):
        assert totals(now) == want(now), now
    with database.transaction(write=True) as tx:
        counts.rebuild(tx, tenant.app_id)
    for now in (NOW - DAY_MS, NOW, NOW + DAY_MS):
        assert totals(now) == want(now), now


def test_the_landing_day_agrees_with_a_running_sum_over_every_day() -> None:
    """``list_days.landing_day`` bisects the whole days' running sums; a running sum over
    every day in the list's order (edge days outside the whole days, days with no recordings
    among them) gives the same day and the same count before it, at every offset, in both
    orders."""

    def running(
        whole: tuple[array[int], array[int]], edges: dict[int, int], desc: bool, offset: int
    ) -> tuple[int, int]:
        before = 0
        for day, n in sorted([*zip(*whole, strict=True), *edges.items()], reverse=desc):
            if before + n > offset:
                return day, before
            before += n
        return 0, 0

    rng = random.Random(5)
    for _ in range(3_000):
        start = rng.randint(100, 110)
        days = sorted(rng.sample(range(start, start + 12), rng.randint(0, 8)))
        whole = (array("q", days), array("q", [rng.choice([0, 0, 1, 2, 5]) for _ in days]))
        edges: dict[int, int] = {}
        if rng.random() < 0.6:
            edges[(days[0] if days else start) - rng.randint(1, 3)] = rng.choice([0, 1, 3])
        if rng.random() < 0.6:
            edges[(days[-1] if days else start + 20) + rng.randint(1, 3)] = rng.choice([0, 1, 3])
        total = sum(whole[1]) + sum(edges.values())
        for desc in (False, True):
            for offset in range(total + 2):
                got = list_days.landing_day(whole, edges, desc, offset)
                assert got == running(whole, edges, desc, offset), (whole, edges, desc, offset)
