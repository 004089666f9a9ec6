"""SQL of the recordings catalogue: inserts (one, or a bulk load) and the list, which reads the
counts kept beside the recordings (counts.py keeps them in step, and is their only writer):
- ``recording_day_counts``: per app, day of ``invoked_time`` and status, how many recordings;
- ``recording_expiry_counts``: per app and day of ``download_url_expiry``, how many recordings;
- ``meetings.recording_count``, ``first_invoked_time`` and ``last_invoked_time``.

A list request is answered along one of four paths, by the filters it has:
- status and a time window only: the day counts (``list_days.py``);
- a meeting and/or a search: the meetings' counts (``list_meetings.py``);
- ``expired``, alone or with a status and/or a window: the expiry counts (``list_expiry.py``).
What the paths share (the filter, the page read, exact counts) is in ``list_sql.py``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.meetings import repository as meetings
from reckit.recordings import (
    counts,
    list_days,
    list_expiry,
    list_meetings,
    live_repository,
    render,
)
from reckit.recordings.models import ListQuery, NewRecording

# The stored columns, in the order of the value tuples that insert_rows_without_counts takes.
COLUMNS = (
    "id",
    "app_id",
    "meeting_id",
    "kind",
    "status",
    "invoked_time",
    "started_time",
    "stopped_time",
    "session_id",
    "output_file_name",
    "file_size",
    "recording_duration",
    "download_url",
    "audio_download_url",
    "download_url_expiry",
    "storage_config",
    "start_reason",
    "stop_reason",
)


def _values(r: NewRecording) -> tuple[Any, ...]:
    return (
        r.id,
        r.app_id,
        r.meeting_id,
        r.kind,
        r.status,
        r.invoked_time,
        r.started_time,
        r.stopped_time,
        r.session_id,
        r.output_file_name,
        r.file_size,
        r.recording_duration,
        r.download_url,
        r.audio_download_url,
        r.download_url_expiry,
        r.storage_config,
        r.start_reason,
        r.stop_reason,
    )


# insert() also writes the lifecycle columns, which a bulk load leaves at their defaults.
_LIFECYCLE_COLUMNS = ("config", "allow_multiple", "request_key", "user_ids", "max_seconds")
_INSERT_ONE = (
    f"INSERT INTO recordings ({', '.join(COLUMNS + _LIFECYCLE_COLUMNS)}, listing)"
    f" VALUES ({', '.join('?' * (len(COLUMNS) + len(_LIFECYCLE_COLUMNS) + 1))})"
)


def insert(tx: Tx, r: NewRecording) -> None:
    lifecycle = (r.config, r.allow_multiple, r.request_key, r.user_ids, r.max_seconds)
    part = meetings.list_parts(tx, [r.meeting_id]).get(r.meeting_id)
    if part is None:  # no such meeting: the insert fails on its foreign key
        part = "null"
    tx.run(_INSERT_ONE, (*_values(r), *lifecycle, render.list_item(r, None, part)))
    counts.added(tx, r)
    apps.touch(tx, r.app_id)


# A row of COLUMNS with its fields named, as render.list_item reads them.
_Values = namedtuple("_Values", COLUMNS)  # type: ignore[misc]


def with_listings(rows: Sequence[Row], parts: Mapping[str, str]) -> list[Row]:
    """Value tuples in ``COLUMNS`` order, each with its list item added at the end (the order
    ``insert_rows_without_counts`` takes). ``parts``: each meeting's list part, by ID. A new
    recording has no track files yet."""
    make = cast(Callable[[Row], render.Listed], _Values._make)
    item = render.list_item
    return [(*row, item(make(row), None, parts[row[2]])) for row in rows]


def insert_rows_without_counts(tx: Tx, rows: Sequence[Row]) -> None:
    """Bulk load of value tuples in ``COLUMNS`` order followed by the listing (``with_listings``);
    the caller must call ``counts.rebuild`` for each app before committing."""
    tx.bulk_insert("recordings", (*COLUMNS, "listing"), rows)


def unlisted(tx: Tx) -> int:
    """How many recordings have no stored list item (written before migration 14, or by a
    node that predates it); read from the partial index ``recordings_unlisted``."""
    row = tx.one("SELECT count(*) FROM recordings WHERE listing IS NULL")
    return int(row[0]) if row else 0


def fill_listings(tx: Tx, limit: int) -> int:
    """Store the list item of up to ``limit`` recordings without one; how many were."""
    found = live_repository.unlisted(tx, limit)
    parts = meetings.list_parts(tx, [r.meeting_id for _, r in found])
    key = "rowid" if tx.dialect == "sqlite" else "id"
    tx.many(
        f"UPDATE recordings SET listing = ? WHERE {key} = ?",
        [(render.list_item(r, r.files, parts[r.meeting_id]), k) for k, r in found],
    )
    return len(found)


def fewer_than(tx: Tx, n: int) -> bool:
    """Whether the store holds fewer than n recordings (in all apps), reading at most n."""
    row = tx.one("SELECT count(*) FROM (SELECT 1 FROM recordings LIMIT ?) AS x", (n,))
    return row is not None and int(row[0]) < n


def list_page(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    """(total matching, the rows of the requested page), along the path its filters take."""
    if q.search is not None or q.meeting_id is not None:
        return list_meetings.by_meetings(tx, app_id, q, now_ms)
    if q.expired is None:
        return list_days.by_days(tx, app_id, q)
    if not q.statuses and q.start_ms is None and q.end_ms is None:
        return list_expiry.by_expiry(tx, app_id, q, now_ms)
    return list_expiry.by_expiry_days(tx, app_id, q, now_ms)
