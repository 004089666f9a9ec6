"""SQL of recordings that are still changing: lookups by ID, state changes, and the queries of
the sweeper and the recorders. Every status change goes through ``transition``, the one writer
of a recording's status: a compare-and-set of a ``lifecycle.Change`` that keeps the counts in
step (counts.py)."""

from __future__ import annotations

import time

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.meetings import repository as meetings
from reckit.recordings import counts, render
from reckit.recordings.lifecycle import Change
from reckit.recordings.models import ACTIVE, StoredRecording
from reckit.webhooks import events as webhook_events

_FIELDS = tuple(StoredRecording.__dataclass_fields__)
_SELECT = f"SELECT {', '.join('r.' + f for f in _FIELDS)} FROM recordings r"
_LIVE = "('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING')"


def _one(row: Row | None) -> StoredRecording | None:
    if row is None:
        return None
    values = list(row)
    values[_FIELDS.index("allow_multiple")] = bool(values[_FIELDS.index("allow_multiple")])
    return StoredRecording(*values)


def _many(rows: list[Row]) -> list[StoredRecording]:
    return [r for r in map(_one, rows) if r is not None]


def _lock(tx: Tx) -> str:
    # SQLite's write transaction already holds the database lock.
    return " FOR UPDATE" if tx.dialect == "postgres" else ""


def get(tx: Tx, app_id: str, recording_id: str, *, lock: bool = False) -> StoredRecording | None:
    sql = f"{_SELECT} WHERE r.id = ? AND r.app_id = ?" + (_lock(tx) if lock else "")
    return _one(tx.one(sql, (recording_id, app_id)))


def get_by_id(tx: Tx, recording_id: str, *, lock: bool = False) -> StoredRecording | None:
    sql = f"{_SELECT} WHERE r.id = ?" + (_lock(tx) if lock else "")
    return _one(tx.one(sql, (recording_id,)))


def unlisted(tx: Tx, limit: int) -> list[tuple[object, StoredRecording]]:
    """Up to ``limit`` recordings without a stored list item, each with its row key (SQLite:
    the rowid, in table order through the partial index ``recordings_unlisted``, so that a
    batch reads and rewrites neighbouring pages; PostgreSQL: the ID)."""
    key, order = ("rowid", "r.app_id, r.rowid") if tx.dialect == "sqlite" else ("id", "r.id")
    rows = tx.all(
        f"{_SELECT.replace('SELECT ', f'SELECT r.{key}, ', 1)} WHERE r.listing IS NULL"
        f" ORDER BY {order} LIMIT ?",
        (limit,),
    )
    return [(row[0], rec) for row in rows if (rec := _one(row[1:])) is not None]


def list_item(tx: Tx, rec: StoredRecording) -> str:
    """``rec``'s list item rendered from its columns, with its meeting's part."""
    part = meetings.list_parts(tx, [rec.meeting_id])[rec.meeting_id]
    return render.list_item(rec, rec.files, part)


def active_for_meeting(tx: Tx, app_id: str, meeting_id: str) -> list[StoredRecording]:
    """INVOKED, RECORDING or PAUSED recordings of the meeting, newest first."""
    return _many(
        tx.all(
            f"{_SELECT} WHERE r.app_id = ? AND r.meeting_id = ?"
            f" AND r.status IN {tuple(ACTIVE)!r} ORDER BY r.invoked_time DESC, r.id DESC",
            (app_id, meeting_id),
        )
    )


# What a transition may set: not what identifies the recording or places it in the counts
# (its app, meeting and invoked time never change), and its status only through the Change.
_SETTABLE = frozenset(_FIELDS) - {"id", "app_id", "meeting_id", "kind", "status", "invoked_time"}


def transition(tx: Tx, rec: StoredRecording, change: Change, now_ms: int | None = None) -> bool:
    """The one writer of a recording's status: apply ``change`` (lifecycle.py made it from
    ``rec``) if the recording is still in the status it was read with. False, and nothing
    written, if its status has changed since. Keeps the counts in step and bumps the app's
    data version, and queues the ``recording.statusUpdate`` of a status entered (webhooks/
    events.py, an outbox), in the same transaction."""
    if change.source != rec.status:
        raise ValueError(f"a change from {change.source} applied to a {rec.status} recording")
    unknown = set(change.fields) - _SETTABLE
    if unknown:
        raise ValueError(f"a transition cannot set {sorted(unknown)}")
    sets = ["status = ?", *(f"{name} = ?" for name in change.fields)]
    changed = tx.run(
        f"UPDATE recordings SET {', '.join(sets)} WHERE id = ? AND status = ?",
        (change.status.value, *change.fields.values(), rec.id, rec.status),
    )
    if changed == 0:
        return False
    # The status moves under the old expiry, then the expiry under the new status.
    counts.status_moved(
        tx,
        rec.app_id,
        rec.invoked_time,
        rec.status,
        change.status.value,
        expiry=rec.download_url_expiry,
    )
    if "download_url_expiry" in change.fields:
        counts.expiry_moved(
            tx,
            rec.app_id,
            rec.download_url_expiry,
            change.fields["download_url_expiry"],
            status=change.status.value,
            invoked_time=rec.invoked_time,
        )
    # The list item shows what the row holds now (recordings/render.py); read back, not
    # merged from ``rec``, so that it shows every column as written.
    after = get_by_id(tx, rec.id)
    assert after is not None
    tx.run("UPDATE recordings SET listing = ? WHERE id = ?", (list_item(tx, after), rec.id))
    # A transition changes no meeting: its count and first and last times stay.
    apps.touch(tx, rec.app_id, meetings=False)
    if change.status.value != rec.status:
        when = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        webhook_events.recording_status(tx, after, when)
    return True


def claimable(tx: Tx, limit: int) -> list[StoredRecording]:
    """INVOKED recordings no recorder holds, oldest first. Only those started through the API
    (they carry the capture ``config``): a seeded or bulk-loaded recording is a catalogue
    entry with nothing to capture, whatever its status."""
    skip = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgres" else ""
    return _many(
        tx.all(
            f"{_SELECT} WHERE r.status = 'INVOKED' AND r.recorder_id IS NULL"
            " AND r.config IS NOT NULL"
            f" ORDER BY r.invoked_time LIMIT ?{skip}",
            (limit,),
        )
    )


# A recording is its recorder's until the recorder has handed its files in (``files`` set):
# from then on delivery, retries and giving up are the server's, and nothing the recorder does
# or fails to do (a restart, silence, a poll without it) can fail the recording.
_CAPTURING = f"r.status IN {_LIVE} AND r.files IS NULL"


def held_by(tx: Tx, recorder_id: str) -> list[StoredRecording]:
    """The recordings ``recorder_id`` is still capturing or handing in."""
    return _many(tx.all(f"{_SELECT} WHERE {_CAPTURING} AND r.recorder_id = ?", (recorder_id,)))


# A recorder polls several times a second; its heartbeat is written at most this often per
# recording. Each write locks the recording's row, and a stop or pause of that recording waits
# for the poll's transaction; with dozens of recordings per recorder that queue grew long.
HEARTBEAT_EVERY_MS = 1_000


def heartbeat(tx: Tx, recording_ids: list[str], recorder_id: str, now_ms: int) -> None:
    """Rows are locked in ID order, as every writer of several recordings does here (the
    sweep's ``silent_recorders``): two such transactions never wait on each other in a cycle."""
    tx.many(
        "UPDATE recordings SET heartbeat_at = ? WHERE id = ? AND recorder_id = ?"
        " AND (heartbeat_at IS NULL OR heartbeat_at <= ?)",
        [(now_ms, rid, recorder_id, now_ms - HEARTBEAT_EVERY_MS) for rid in sorted(recording_ids)],
    )


def claim(tx: Tx, recording_id: str, recorder_id: str, instance: str | None, now_ms: int) -> bool:
    return (
        tx.run(
            "UPDATE recordings SET recorder_id = ?, recorder_instance = ?, heartbeat_at = ?"
            " WHERE id = ? AND status = 'INVOKED' AND recorder_id IS NULL",
            (recorder_id, instance, now_ms, recording_id),
        )
        == 1
    )


def past_max_seconds(tx: Tx, now_ms: int) -> list[StoredRecording]:
    return _many(
        tx.all(
            f"{_SELECT} WHERE r.status IN ('RECORDING', 'PAUSED') AND r.started_time IS NOT NULL"
            " AND r.started_time + r.max_seconds * 1000 <= ?",
            (now_ms,),
        )
    )


def silent_recorders(tx: Tx, cutoff_ms: int) -> list[StoredRecording]:
    """Held recordings whose recorder has not been heard from since ``cutoff_ms``, locked in ID
    order (PostgreSQL). A row a poll is writing its heartbeat to is skipped: its recorder is
    evidently not silent, and waiting for it could close a cycle with that poll."""
    skip = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgres" else ""
    return _many(
        tx.all(
            f"{_SELECT} WHERE {_CAPTURING} AND r.recorder_id IS NOT NULL AND r.heartbeat_at < ?"
            f" ORDER BY r.id{skip}",
            (cutoff_ms,),
        )
    )


def unclaimed_since(tx: Tx, invoked_before_ms: int) -> list[StoredRecording]:
    """Recordings started through the API (they carry a capture ``config``) that are still
    INVOKED with no recorder, invoked at ``invoked_before_ms`` or earlier."""
    return _many(
        tx.all(
            f"{_SELECT} WHERE r.status = 'INVOKED' AND r.recorder_id IS NULL"
            " AND r.config IS NOT NULL AND r.invoked_time <= ?",
            (invoked_before_ms,),
        )
    )


def in_empty_rooms(tx: Tx, empty_since_ms: int) -> list[StoredRecording]:
    """Running recordings whose session has had nobody in it since ``empty_since_ms`` or
    earlier (an ended session counts as empty from its end)."""
    return _many(
        tx.all(
            f"{_SELECT} JOIN sessions s ON s.id = r.session_id"
            " WHERE r.status IN ('RECORDING', 'PAUSED') AND s.empty_since IS NOT NULL"
            " AND s.empty_since <= ?",
            (empty_since_ms,),
        )
    )


def due_for_purge(tx: Tx, now_ms: int, limit: int = 500) -> list[StoredRecording]:
    """Finished recordings whose bucket copy has expired and is still there."""
    return _many(
        tx.all(
            f"{_SELECT} WHERE r.purged_at IS NULL AND r.files IS NOT NULL"
            " AND r.download_url_expiry <= ? AND r.status IN ('UPLOADED', 'ERRORED') LIMIT ?",
            (now_ms, limit),
        )
    )


def mark_purged(tx: Tx, recording_id: str, now_ms: int) -> None:
    tx.run("UPDATE recordings SET purged_at = ? WHERE id = ?", (now_ms, recording_id))
