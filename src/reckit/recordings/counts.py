"""The counts kept beside the recordings, so that list totals and deep pages stay fast
(repository.py explains how the list reads them). This module is the only writer of them:
- ``recording_day_counts``: per app, day of ``invoked_time`` and status, how many recordings;
- ``recording_expiry_counts``: per app and day of ``download_url_expiry``, how many recordings;
- ``recording_expiry_status_counts``: per app, status, day of ``invoked_time`` and day of
  ``download_url_expiry``, how many recordings (those with an expiry);
- ``meetings.recording_count``, ``first_invoked_time`` and ``last_invoked_time``: per meeting,
  how many recordings it has and the invoked time of its first and last (all of the meeting's
  own app: the foreign key ``(app_id, meeting_id) → meetings (app_id, id)`` allows no other).
  Invoked times never change, so only an insert (or a bulk load's recount) moves them.

Each is kept in step in the transaction of the write it follows: an insert
(``repository.insert`` → ``added``), a status change (``live_repository.transition`` →
``status_moved``, ``expiry_moved``), or a bulk load (the seeder → ``rebuild``).
"""

from __future__ import annotations

from reckit.apps import repository as apps
from reckit.db.engine import Tx
from reckit.recordings.models import NewRecording
from reckit.timestamps import DAY_MS

_BUMP_DAY = (
    "INSERT INTO recording_day_counts (app_id, day, status, n) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (app_id, day, status) DO UPDATE SET n = recording_day_counts.n + excluded.n"
)
_BUMP_EXPIRY_STATUS = (
    "INSERT INTO recording_expiry_status_counts (app_id, status, day, expiry_day, n)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (app_id, status, day, expiry_day)"
    " DO UPDATE SET n = recording_expiry_status_counts.n + excluded.n"
)
_BUMP_EXPIRY = (
    "INSERT INTO recording_expiry_counts (app_id, day, n) VALUES (?, ?, ?)"
    " ON CONFLICT (app_id, day) DO UPDATE SET n = recording_expiry_counts.n + excluded.n"
)
# A new recording of a meeting: one more, and maybe a new first or last invoked time.
_BUMP_MEETING = (
    "UPDATE meetings SET recording_count = recording_count + 1,"
    " first_invoked_time = CASE WHEN first_invoked_time IS NULL OR first_invoked_time > ?"
    " THEN ? ELSE first_invoked_time END,"
    " last_invoked_time = CASE WHEN last_invoked_time IS NULL OR last_invoked_time < ?"
    " THEN ? ELSE last_invoked_time END"
    " WHERE app_id = ? AND id = ?"
)


def added(tx: Tx, r: NewRecording) -> None:
    """``r`` was inserted: one more on its day and status, its expiry day, and its meeting."""
    tx.run(_BUMP_DAY, (r.app_id, r.invoked_time // DAY_MS, r.status, 1))
    expiry_moved(
        tx, r.app_id, None, r.download_url_expiry, status=r.status, invoked_time=r.invoked_time
    )
    t = r.invoked_time
    tx.run(_BUMP_MEETING, (t, t, t, t, r.app_id, r.meeting_id))


def status_moved(
    tx: Tx, app_id: str, invoked_time: int, old: str, new: str, *, expiry: int | None
) -> None:
    """A recording invoked at ``invoked_time``, expiring at ``expiry`` (None: no expiry), went
    from ``old`` to ``new``. (A meeting's count covers every status: unchanged.)"""
    if old == new:
        return
    day = invoked_time // DAY_MS
    tx.run(_BUMP_DAY, (app_id, day, old, -1))
    tx.run(_BUMP_DAY, (app_id, day, new, 1))
    if expiry is not None:
        tx.run(_BUMP_EXPIRY_STATUS, (app_id, old, day, expiry // DAY_MS, -1))
        tx.run(_BUMP_EXPIRY_STATUS, (app_id, new, day, expiry // DAY_MS, 1))


def expiry_moved(
    tx: Tx, app_id: str, old: int | None, new: int | None, *, status: str, invoked_time: int
) -> None:
    """The expiry of a recording in ``status`` invoked at ``invoked_time`` moved from ``old``
    to ``new`` (either may be None: no expiry)."""
    if old == new:
        return
    day = invoked_time // DAY_MS
    if old is not None:
        tx.run(_BUMP_EXPIRY, (app_id, old // DAY_MS, -1))
        tx.run(_BUMP_EXPIRY_STATUS, (app_id, status, day, old // DAY_MS, -1))
    if new is not None:
        tx.run(_BUMP_EXPIRY, (app_id, new // DAY_MS, 1))
        tx.run(_BUMP_EXPIRY_STATUS, (app_id, status, day, new // DAY_MS, 1))


def rebuild(tx: Tx, app_id: str) -> None:
    """Recount an app's day, expiry and meeting counts from its recordings (after a bulk load,
    ``repository.insert_rows_without_counts``)."""
    apps.touch(tx, app_id)
    tx.run("DELETE FROM recording_day_counts WHERE app_id = ?", (app_id,))
    # Integer division: invoked times are after 1970, so it floors like added's // does.
    tx.run(
        "INSERT INTO recording_day_counts (app_id, day, status, n)"
        " SELECT app_id, invoked_time / 86400000, status, count(*) FROM recordings"
        " WHERE app_id = ? GROUP BY app_id, invoked_time / 86400000, status",
        (app_id,),
    )
    tx.run("DELETE FROM recording_expiry_counts WHERE app_id = ?", (app_id,))
    tx.run(
        "INSERT INTO recording_expiry_counts (app_id, day, n)"
        " SELECT app_id, download_url_expiry / 86400000, count(*) FROM recordings"
        " WHERE app_id = ? AND download_url_expiry IS NOT NULL"
        " GROUP BY app_id, download_url_expiry / 86400000",
        (app_id,),
    )
    tx.run("DELETE FROM recording_expiry_status_counts WHERE app_id = ?", (app_id,))
    tx.run(
        "INSERT INTO recording_expiry_status_counts (app_id, status, day, expiry_day, n)"
        " SELECT app_id, status, invoked_time / 86400000, download_url_expiry / 86400000,"
        " count(*) FROM recordings WHERE app_id = ? AND download_url_expiry IS NOT NULL"
        " GROUP BY app_id, status, invoked_time / 86400000, download_url_expiry / 86400000",
        (app_id,),
    )
    tx.run(
        "UPDATE meetings SET recording_count = 0, first_invoked_time = NULL,"
        " last_invoked_time = NULL WHERE app_id = ? AND recording_count <> 0",
        (app_id,),
    )
    tx.run(
        "UPDATE meetings SET recording_count = c.n, first_invoked_time = c.first,"
        " last_invoked_time = c.last FROM (SELECT meeting_id, count(*) AS n,"
        " min(invoked_time) AS first, max(invoked_time) AS last"
        " FROM recordings WHERE app_id = ? GROUP BY meeting_id) AS c"
        " WHERE meetings.app_id = ? AND meetings.id = c.meeting_id",
        (app_id, app_id),
    )


def without_meeting(tx: Tx, app_id: str) -> int:
    """After ``rebuild``: how many of the app's recordings refer to no meeting of the app. A bulk
    load whose foreign keys were not looked up row by row (db/engine.py ``load_journal``)
    checks them with this, in one pass over the counts."""
    row = tx.one(
        "SELECT (SELECT coalesce(sum(n), 0) FROM recording_day_counts WHERE app_id = ?)"
        " - (SELECT coalesce(sum(recording_count), 0) FROM meetings WHERE app_id = ?)",
        (app_id, app_id),
    )
    return int(row[0]) if row else 0
