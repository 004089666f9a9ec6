"""A list item is stored rendered with its row (``recordings.listing``, ``meetings.listing``:
migration 14). On both engines: every write that changes what an item shows writes its
listing too, so a page always shows the columns as they are now; a row without a listing (a
node that predates them wrote it) is rendered from its columns; and the migration fills them.
"""

from __future__ import annotations

import orjson

from reckit.cli.common import fill_listings
from reckit.clock import ManualClock
from reckit.db.engine import Database
from reckit.meetings import render as meeting_render
from reckit.meetings import repository as meetings
from reckit.recordings import lifecycle, render, repository
from reckit.recordings import live_repository as live
from reckit.recordings.models import ListQuery, StoredRecording
from reckit.recordings.service import list_recordings
from reckit.seeding import SeedPlan, seed
from tests.support.builders import NOW, add_meeting, add_recording, make_dataset
from tests.support.live import new_tenant

KEY = b"k" * 32


def _from_columns(db: Database, app_id: str) -> dict[str, str]:
    """Every recording's list item of the app, rendered from its columns as they are now."""
    items = {}
    with db.transaction() as tx:
        ids = [str(r[0]) for r in tx.all("SELECT id FROM recordings WHERE app_id = ?", (app_id,))]
        for rid in ids:
            rec = live.get_by_id(tx, rid)
            assert rec is not None
            meeting = meetings.get(tx, app_id, rec.meeting_id)
            assert meeting is not None
            items[rid] = render.list_item(rec, rec.files, meeting_render.list_part(meeting))
    return items


def _listed(db: Database, app_id: str) -> dict[str, str]:
    """Every item of the app as the list endpoint's service gives it (one page of all)."""
    with db.transaction() as tx:
        page = list_recordings(tx, ManualClock(NOW), app_id, ListQuery(per_page=100_000))
    assert len(page.items) == page.total_count
    return {orjson.loads(item)["id"]: item for item in page.items}


def _stored_as_rendered(db: Database, app_id: str) -> None:
    want = _from_columns(db, app_id)
    assert _listed(db, app_id) == want
    with db.transaction() as tx:
        missing = tx.one(
            "SELECT count(*) FROM recordings r JOIN meetings m ON m.id = r.meeting_id"
            " WHERE r.app_id = ? AND (r.listing IS NULL OR m.listing IS NULL)",
            (app_id,),
        )
        stored = tx.all("SELECT id, listing FROM recordings WHERE app_id = ?", (app_id,))
    assert missing is not None and int(missing[0]) == 0
    assert {str(i): item for i, item in stored} == want


def _apply(db: Database, recording_id: str, make: object) -> StoredRecording:
    with db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, recording_id, lock=True)
        assert rec is not None
        change = make(rec)  # type: ignore[operator]
        assert change is not None and live.transition(tx, rec, change)
        after = live.get_by_id(tx, recording_id)
    assert after is not None
    return after


def test_every_write_keeps_the_stored_items_current(database: Database) -> None:
    tenant = new_tenant(database)
    app_id = tenant.app_id
    made = make_dataset(database, app_id, 60)
    _stored_as_rendered(database, app_id)

    # The lifecycle: a start, capture, a pause and resume, a stop, the files, the delivery.
    meeting = add_meeting(database, app_id, "Listing review")
    rid = add_recording(
        database, app_id, meeting.id, status="INVOKED", kind="track", invoked_time=NOW - 60_000
    ).id
    _apply(database, rid, lambda r: lifecycle.began(r, NOW - 50_000, "session-1"))
    _apply(database, rid, lambda r: lifecycle.act(r, "pause", NOW - 40_000))
    _apply(database, rid, lambda r: lifecycle.act(r, "resume", NOW - 30_000))
    _apply(database, rid, lambda r: lifecycle.act(r, "stop", NOW - 20_000))
    files = {
        "a.mp4": {"key": "k/a.mp4", "size": 1234, "role": "track", "participant_id": "p1"},
        "b.mp4": {"key": "k/b.mp4", "size": 99, "role": "track", "participant_id": "p2"},
    }
    _apply(database, rid, lambda r: lifecycle.files_in(r, files, 42.7))
    links = {
        "download_url": "http://127.0.0.1/dl/a.mp4",
        "audio_download_url": None,
        "download_url_expiry": NOW + 86_400_000,
    }
    done = _apply(database, rid, lambda r: lifecycle.delivered(r, NOW, links))
    _stored_as_rendered(database, app_id)
    item = orjson.loads(_listed(database, app_id)[rid])
    assert item["status"] == "UPLOADED" and item["file_size"] == 1234
    assert item["recording_duration"] == 42 and item["session_id"] == "session-1"
    assert item["download_url"] == links["download_url"] and done.files is not None
    assert [t["output_file_name"] for t in item["tracks"]] == ["a.mp4", "b.mp4"]
    assert item["meeting"]["title"] == "Listing review"

    # A failure, and the meeting's own changes: every one of its recordings shows them.
    failing = next(r.id for r in made.recordings if r.status == "RECORDING")
    _apply(database, failing, lambda r: lifecycle.failed(r, NOW, "gone"))
    target = made.recordings[0].meeting_id
    with database.transaction(write=True) as tx:
        meetings.update(
            tx,
            app_id,
            target,
            {"title": "Renamed", "status": "INACTIVE", "record_on_start": True},
            NOW + 5,
        )
    _stored_as_rendered(database, app_id)
    shown = [orjson.loads(i)["meeting"] for i in _listed(database, app_id).values()]
    renamed = [m for m in shown if m["id"] == target]
    assert renamed and all(
        m["title"] == "Renamed" and m["status"] == "INACTIVE" and m["record_on_start"]
        for m in renamed
    )
    assert orjson.loads(_listed(database, app_id)[failing])["status"] == "ERRORED"


def test_rows_without_listings_are_rendered_and_the_migration_fills_them(
    database: Database,
) -> None:
    tenant = new_tenant(database)
    make_dataset(database, tenant.app_id, 40)
    want = _from_columns(database, tenant.app_id)
    with database.transaction(write=True) as tx:
        # As a node without migration 14 leaves them (some of each).
        tx.run("UPDATE recordings SET listing = NULL WHERE app_id = ?", (tenant.app_id,))
        tx.run(
            "UPDATE meetings SET listing = NULL WHERE app_id = ? AND title IS NOT NULL",
            (tenant.app_id,),
        )
    assert _listed(database, tenant.app_id) == want
    with database.transaction() as tx:
        assert repository.unlisted(tx) >= 40 and meetings.unlisted(tx) >= 5
    fill_listings(database, batch=7)  # as the next command that opens the store does
    with database.transaction() as tx:
        assert repository.unlisted(tx) == 0 and meetings.unlisted(tx) == 0
    _stored_as_rendered(database, tenant.app_id)
    assert _listed(database, tenant.app_id) == want


def test_seeded_rows_carry_their_items(database: Database) -> None:
    tenant = new_tenant(database)
    plan = SeedPlan(tenant.app_id, 400, 50, 3, NOW, "http://127.0.0.1", KEY)
    with database.transaction(write=True) as tx:
        seed(tx, plan)
    _stored_as_rendered(database, tenant.app_id)


def test_a_meeting_change_drops_an_item_it_cannot_mend(database: Database) -> None:
    """An item that does not end with its meeting's old part (none should) is dropped when the
    meeting changes, and the list renders it from its columns."""
    tenant = new_tenant(database)
    meeting = add_meeting(database, tenant.app_id, "Tampered")
    kept = add_recording(database, tenant.app_id, meeting.id).id
    odd = add_recording(database, tenant.app_id, meeting.id, invoked_time=NOW - 1).id
    with database.transaction(write=True) as tx:
        tx.run("UPDATE recordings SET listing = listing || ' ' WHERE id = ?", (odd,))
        meetings.update(tx, tenant.app_id, meeting.id, {"title": "Mended"}, NOW + 1)
        rows = tx.all("SELECT id, listing FROM recordings WHERE meeting_id = ?", (meeting.id,))
    stored = {str(r[0]): r[1] for r in rows}
    assert stored[odd] is None and stored[kept] is not None
    listed = _listed(database, tenant.app_id)
    assert listed == _from_columns(database, tenant.app_id)
    assert {orjson.loads(i)["meeting"]["title"] for i in listed.values()} == {"Mended"}
    # The store is shared: leave nothing for another test's command to fill.
    fill_listings(database)
    _stored_as_rendered(database, tenant.app_id)
