"""A search's matching meetings are kept per app and data version (recordings/list_meetings.py):
on both engines, every write that changes the answer (a new recording, a status change, a
title changed, a new meeting) is seen by the next search, which agrees with a plain scan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.meetings import repository as meetings
from reckit.recordings import lifecycle, list_days, list_meetings, repository, search_order
from reckit.recordings import live_repository as live
from reckit.recordings.models import ListQuery
from reckit.timestamps import DAY_MS
from tests.support.builders import NOW, add_meeting, add_recording
from tests.support.live import new_tenant


def _scan(db: Database, app_id: str, needle: str, statuses: tuple[str, ...] | None) -> list[str]:
    with db.transaction() as tx:
        rows = tx.all(
            "SELECT r.id, r.status, r.invoked_time, m.title FROM recordings r"
            " JOIN meetings m ON m.id = r.meeting_id WHERE r.app_id = ?",
            (app_id,),
        )
    keep = [
        (int(t), str(i))
        for i, s, t, title in rows
        if needle.lower() in (title or "").lower() and (not statuses or s in statuses)
    ]
    return [i for _, i in sorted(keep, reverse=True)]


def _list(
    db: Database, app_id: str, needle: str, statuses: tuple[str, ...] | None = None
) -> list[str]:
    with db.transaction() as tx:
        total, rows = repository.list_page(
            tx, app_id, ListQuery(per_page=100, search=needle, statuses=statuses), NOW
        )
    ids = [str(r[0]) for r in rows]
    assert total == len(ids)
    return ids


def _fail(db: Database, recording_id: str) -> None:
    """The recording ends ERRORED through the one writer (a status change, nothing else)."""
    with db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, recording_id, lock=True)
        assert rec is not None
        change = lifecycle.failed(rec, NOW, "gone")
        assert change is not None and live.transition(tx, rec, change)


def _same(db: Database, app_id: str) -> None:
    for needle in ("falcon", "Falcon sync", "orion"):
        for statuses in (None, ("UPLOADED",)):
            assert _list(db, app_id, needle, statuses) == _scan(db, app_id, needle, statuses)


@pytest.fixture(params=["merged", "ordered"])
def search_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a search's page is read: merged from its meetings' recordings, and (a broad
    search on SQLite, here any search) sliced from the search's order (search_order.py)."""
    if request.param == "ordered":
        monkeypatch.setattr(list_meetings, "_ORDER_FROM", 0)
    return str(request.param)


@pytest.mark.usefixtures("search_path")
def test_a_cached_search_follows_every_write(database: Database) -> None:
    tenant = new_tenant(database)
    app_id = tenant.app_id
    falcon = add_meeting(database, app_id, "Falcon sync")
    orion = add_meeting(database, app_id, "Orion review")
    add_meeting(database, app_id, "Falcon, no recordings yet")
    for i in range(5):
        add_recording(database, app_id, falcon.id, invoked_time=NOW - i * DAY_MS)
    _same(database, app_id)
    # A new recording of a matching meeting.
    add_recording(database, app_id, falcon.id, invoked_time=NOW - 3, status="INVOKED")
    _same(database, app_id)
    # A meeting that starts to match: a new one with recordings, and a title changed.
    late = add_meeting(database, app_id, "FALCON late")
    add_recording(database, app_id, late.id, invoked_time=NOW - 7)
    add_recording(database, app_id, orion.id, invoked_time=NOW - 9)
    _same(database, app_id)
    with database.transaction(write=True) as tx:
        meetings.update(tx, app_id, orion.id, {"title": "Falcon now"}, NOW)
    _same(database, app_id)
    # A status change (the counts the search's meetings carry are unchanged, the answer with
    # a status filter is not).
    with database.transaction() as tx:
        rows = tx.all(
            "SELECT id FROM recordings WHERE app_id = ? AND status = 'INVOKED'", (app_id,)
        )
    _fail(database, str(rows[0][0]))
    _same(database, app_id)


@pytest.mark.usefixtures("search_path")
def test_every_page_of_a_search_or_meeting_matches_a_scan(database: Database) -> None:
    """Searches and meetings with no other filter read only the meetings that reach the page,
    from the page's time bound on: every page of every size, both orders, against a scan."""
    tenant = new_tenant(database)
    app_id = tenant.app_id
    made = [
        add_meeting(database, app_id, title)
        for title in ("Falcon a", "falcon b", "Orion c", "FALCON d", "x")
    ]
    for i in range(60):
        meeting = made[(i * 7) % len(made)]
        # Shared instants (ties broken by ID) and meetings' spans that overlap.
        add_recording(database, app_id, meeting.id, invoked_time=NOW - (i * 13 % 17) * DAY_MS)
    for search, meeting_id in (
        ("falcon", None),
        ("orion", None),
        (None, made[0].id),
        ("falcon", made[3].id),
    ):
        with database.transaction() as tx:
            rows = tx.all(
                "SELECT r.id, r.invoked_time, m.title, m.id FROM recordings r"
                " JOIN meetings m ON m.id = r.meeting_id WHERE r.app_id = ?",
                (app_id,),
            )
        keep = sorted(
            (int(t), str(i))
            for i, t, title, mid in rows
            if (search is None or search in (title or "").lower())
            and (meeting_id is None or mid == meeting_id)
        )
        for descending in (True, False):
            want = [i for _, i in (reversed(keep) if descending else keep)]
            for per_page in (1, 2, 3, 7):
                for page_no in range(1, len(want) // per_page + 2):
                    q = ListQuery(
                        page_no=page_no,
                        per_page=per_page,
                        search=search,
                        meeting_id=meeting_id,
                        descending=descending,
                    )
                    with database.transaction() as tx:
                        total, got = repository.list_page(tx, app_id, q, NOW)
                    assert total == len(want)
                    offset = (page_no - 1) * per_page
                    assert [str(r[0]) for r in got] == want[offset : offset + per_page], q


def test_two_stores_with_the_same_ids_and_versions_keep_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caches are per store: a copy of a store (same app ID) with other recordings written
    in as many writes (same data version) answers from its own data."""
    monkeypatch.setattr(list_days, "_DIRECT_OFFSET", 0)  # every page from the day counts
    first = Database(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    migrate(first)
    tenant = new_tenant(first)
    first.close()
    shutil.copy(tmp_path / "a.sqlite3", tmp_path / "b.sqlite3")
    stores = [Database(f"sqlite:///{tmp_path / name}") for name in ("a.sqlite3", "b.sqlite3")]
    try:
        for n, db in enumerate(stores):
            meeting = add_meeting(db, tenant.app_id, ("Falcon sync", "Orion sync")[n])
            for i in range(6):
                add_recording(
                    db, tenant.app_id, meeting.id, invoked_time=NOW - (i * (n + 1) + 3 * n) * DAY_MS
                )
        for n, db in enumerate(stores):
            for q in (
                ListQuery(page_no=3, per_page=2, search="falcon"),
                ListQuery(page_no=3, per_page=2),
            ):
                with db.transaction() as tx:
                    total, rows = repository.list_page(tx, tenant.app_id, q, NOW)
                    want = tx.all(
                        "SELECT id FROM recordings WHERE app_id = ?"
                        " ORDER BY invoked_time DESC, id DESC LIMIT 2 OFFSET 4",
                        (tenant.app_id,),
                    )
                if q.search is not None and n == 1:  # no Falcon in the second store
                    assert (total, rows) == (0, [])
                    continue
                assert total == 6
                assert [r[0] for r in rows] == [r[0] for r in want]
    finally:
        for db in stores:
            db.close()


def test_a_search_order_the_store_no_longer_matches_is_not_used(tmp_path: Path) -> None:
    """A broad search's page is read by rowid from its kept order (search_order.py). Should a
    rowid change under it without a write reckit sees (SQLite's VACUUM may renumber rows), the
    page is read the usual way, and the same as a scan."""
    db = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        migrate(db)
        app_id = new_tenant(db).app_id
        meeting = add_meeting(db, app_id, "Falcon sync")
        for i in range(12):
            add_recording(db, app_id, meeting.id, invoked_time=NOW - i * DAY_MS)
        q = ListQuery(page_no=2, per_page=4, search="falcon")
        want = _scan(db, app_id, "falcon", None)[4:8]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(list_meetings, "_ORDER_FROM", 0)
            with db.transaction() as tx:
                assert [r[0] for r in repository.list_page(tx, app_id, q, NOW)[1]] == want
            with db.transaction(write=True) as tx:  # a renumbering, as VACUUM may do
                tx.run("UPDATE recordings SET rowid = rowid + 1000 WHERE id = ?", (want[1],))
            with db.transaction() as tx:
                total, rows = repository.list_page(tx, app_id, q, NOW)
        assert total == 12
        assert [r[0] for r in rows] == want
    finally:
        db.close()


def test_a_search_order_outlives_a_status_change_not_a_new_recording(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broad search's order (SQLite) is read again only when its recordings change: a status
    change keeps it (read once per search, not once per write), a new recording replaces it, and
    the pages agree with a scan either way."""
    monkeypatch.setattr(list_meetings, "_ORDER_FROM", 0)
    app_id = new_tenant(database).app_id
    meeting = add_meeting(database, app_id, "Falcon sync")
    for i in range(6):
        add_recording(database, app_id, meeting.id, invoked_time=NOW - i * DAY_MS, status="INVOKED")

    def order() -> object:
        _list(database, app_id, "falcon")
        with database.transaction() as tx:
            return list_meetings._meetings(tx, app_id, ListQuery(search="falcon")).order

    first = order()
    assert (first is not None) == (database.dialect == "sqlite")
    _fail(database, _scan(database, app_id, "falcon", None)[2])
    assert order() is first
    assert _list(database, app_id, "falcon") == _scan(database, app_id, "falcon", None)
    add_recording(database, app_id, meeting.id, invoked_time=NOW - 2)
    assert _list(database, app_id, "falcon") == _scan(database, app_id, "falcon", None)
    assert database.dialect == "postgres" or order() is not first


@pytest.mark.usefixtures("search_path")
def test_a_page_inside_a_long_run_of_equal_times_matches_a_scan(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recordings that share one invoked time are ordered by ID; where the run around a page
    is longer than a statement can name, the page is read the usual way. Either way, a scan."""
    monkeypatch.setattr(search_order, "MAX_ROWIDS", 3)
    app_id = new_tenant(database).app_id
    meetings_made = [add_meeting(database, app_id, f"Falcon {i}") for i in range(3)]
    for i in range(9):
        when = NOW - DAY_MS if i < 6 else NOW - i
        add_recording(database, app_id, meetings_made[i % 3].id, invoked_time=when)
    want = _scan(database, app_id, "falcon", None)
    for descending in (True, False):
        ordered = want if descending else want[::-1]
        for page_no in range(1, 6):
            q = ListQuery(page_no=page_no, per_page=2, search="falcon", descending=descending)
            with database.transaction() as tx:
                total, rows = repository.list_page(tx, app_id, q, NOW)
            assert total == 9
            assert [r[0] for r in rows] == ordered[(page_no - 1) * 2 : page_no * 2], q


def test_a_status_change_keeps_a_search_resolved_a_new_recording_does_not(
    database: Database,
) -> None:
    """A search's meetings are read again only when a meeting changed (apps.meetings_version):
    a recording changing status leaves them (at 10M a broad word takes 0.4-1 s to resolve), a
    new recording changes its meeting's count; the pages agree with a scan throughout."""
    app_id = new_tenant(database).app_id
    meeting = add_meeting(database, app_id, "Falcon sync")
    for i in range(4):
        add_recording(database, app_id, meeting.id, invoked_time=NOW - i * DAY_MS, status="INVOKED")

    def resolved() -> object:
        with database.transaction() as tx:
            return list_meetings._meetings(tx, app_id, ListQuery(search="falcon"))

    first = resolved()
    _fail(database, _scan(database, app_id, "falcon", None)[0])
    assert resolved() is first
    assert _list(database, app_id, "falcon", ("ERRORED",)) == _scan(
        database, app_id, "falcon", ("ERRORED",)
    )
    add_recording(database, app_id, meeting.id, invoked_time=NOW - 1)
    assert resolved() is not first
    assert _list(database, app_id, "falcon") == _scan(database, app_id, "falcon", None)
