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

from collections.abc import Sequence
from typing import Any

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.recordings import counts, list_days, list_expiry, list_meetings
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
    f"INSERT INTO recordings ({', '.join(COLUMNS + _LIFECYCLE_COLUMNS)})"
    f" VALUES ({', '.join('?' * (len(COLUMNS) + len(_LIFECYCLE_COLUMNS)))})"
)


def insert(tx: Tx, r: NewRecording) -> None:
    lifecycle = (r.config, r.allow_multiple, r.request_key, r.user_ids, r.max_seconds)
    tx.run(_INSERT_ONE, _values(r) + lifecycle)
    counts.added(tx, r)
    apps.touch(tx, r.app_id)


def insert_rows_without_counts(tx: Tx, rows: Sequence[Row]) -> None:
    """Bulk load of value tuples in ``COLUMNS`` order; the caller must call ``counts.rebuild``
    for each app before committing."""
    tx.bulk_insert("recordings", COLUMNS, rows)


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
