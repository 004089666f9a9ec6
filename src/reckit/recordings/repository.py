"""All SQL of recordings, including the per-day counts that keep totals and deep pages fast.

``recording_day_counts`` holds, per app, day of ``invoked_time`` and status, how many recordings
there are. Every write here keeps it in step in the same transaction. A list request whose
filters are only status and a time window is then answered without scanning the table:
- the total is the sum of whole days from the counts plus exact counts of the (at most two)
  partial days at the window's edges;
- a deep page is found by walking the per-day counts to the day where the offset lands, and
  reading from there with an offset smaller than one day's recordings.
Other filters (meeting, expiry, search) go straight to the indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reckit.db.engine import Row, Tx
from reckit.recordings.models import ListQuery, NewRecording
from reckit.timestamps import DAY_MS

LIST_COLUMNS = (
    "r.id, r.audio_download_url, r.download_url, r.download_url_expiry, r.file_size,"
    " r.invoked_time, r.output_file_name, r.session_id, r.started_time, r.status,"
    " r.stopped_time, r.recording_duration, r.storage_config,"
    " m.id, m.created_at, m.updated_at, m.title, m.status, m.record_on_start,"
    " m.live_stream_on_start, m.persist_chat, m.session_keep_alive_time_in_secs,"
    " m.summarize_on_end"
)

_COLUMNS = (
    "id", "app_id", "meeting_id", "kind", "status", "invoked_time", "started_time",
    "stopped_time", "session_id", "output_file_name", "file_size", "recording_duration",
    "download_url", "audio_download_url", "download_url_expiry", "storage_config",
    "start_reason", "stop_reason",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO recordings ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)

_BUMP = (
    "INSERT INTO recording_day_counts (app_id, day, status, n) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (app_id, day, status) DO UPDATE SET n = recording_day_counts.n + excluded.n"
)


def _values(r: NewRecording) -> tuple[Any, ...]:
    return (
        r.id, r.app_id, r.meeting_id, r.kind, r.status, r.invoked_time, r.started_time,
        r.stopped_time, r.session_id, r.output_file_name, r.file_size, r.recording_duration,
        r.download_url, r.audio_download_url, r.download_url_expiry, r.storage_config,
        r.start_reason, r.stop_reason,
    )  # fmt: skip


def insert(tx: Tx, r: NewRecording) -> None:
    tx.run(_INSERT, _values(r))
    tx.run(_BUMP, (r.app_id, r.invoked_time // DAY_MS, r.status, 1))


def insert_many_without_counts(tx: Tx, rows: Sequence[NewRecording]) -> None:
    """Bulk load; the caller must call ``rebuild_day_counts`` before committing."""
    tx.bulk_insert("recordings", _COLUMNS, [_values(r) for r in rows])


def rebuild_day_counts(tx: Tx, app_id: str) -> None:
    tx.run("DELETE FROM recording_day_counts WHERE app_id = ?", (app_id,))
    # Integer division: invoked times are after 1970, so it floors like day_of().
    tx.run(
        "INSERT INTO recording_day_counts (app_id, day, status, n)"
        " SELECT app_id, invoked_time / 86400000, status, count(*) FROM recordings"
        " WHERE app_id = ? GROUP BY app_id, invoked_time / 86400000, status",
        (app_id,),
    )


def set_status(tx: Tx, recording_id: str, old: str, new: str) -> None:
    row = tx.one("SELECT app_id, invoked_time FROM recordings WHERE id = ?", (recording_id,))
    if row is None:
        return
    tx.run("UPDATE recordings SET status = ? WHERE id = ?", (new, recording_id))
    day = int(row[1]) // DAY_MS
    tx.run(_BUMP, (row[0], day, old, -1))
    tx.run(_BUMP, (row[0], day, new, 1))


@dataclass
class _Filter:
    sql: list[str]
    params: list[Any]

    def add(self, clause: str, *params: Any) -> None:
        self.sql.append(clause)
        self.params.extend(params)

    @property
    def where(self) -> str:
        return " AND ".join(self.sql)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_clause(tx: Tx, f: _Filter, app_id: str, search: str) -> None:
    """decisions.md: a case-insensitive substring of the title, or the meeting ID (whole, or a
    prefix of at least 8 characters)."""
    needle = search.lower()
    options: list[str] = []
    params: list[Any] = [app_id]
    if len(needle) >= 3 and tx.dialect == "sqlite":
        # The trigram index answers substring queries of three characters or more.
        options.append("m.seq IN (SELECT rowid FROM meetings_title WHERE meetings_title MATCH ?)")
        params.append('"' + needle.replace('"', '""') + '"')
    else:
        # PostgreSQL's pg_trgm index serves this LIKE; SQLite scans only for 1-2 characters.
        options.append("lower(m.title) LIKE ? ESCAPE '\\'")
        params.append("%" + _like_escape(needle) + "%")
    if len(needle) >= 8:
        options.append("m.id LIKE ? ESCAPE '\\'")
        params.append(_like_escape(needle) + "%")
    f.add(
        "r.meeting_id IN (SELECT m.id FROM meetings m WHERE m.app_id = ? AND ("
        + " OR ".join(options)
        + "))",
        *params,
    )


def _filter(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> _Filter:
    f = _Filter(["r.app_id = ?"], [app_id])
    if q.statuses:
        f.add(f"r.status IN ({', '.join('?' * len(q.statuses))})", *q.statuses)
    if q.start_ms is not None:
        f.add("r.invoked_time >= ?", q.start_ms)
    if q.end_ms is not None:
        f.add("r.invoked_time <= ?", q.end_ms)
    if q.meeting_id is not None:
        f.add("r.meeting_id = ?", q.meeting_id)
    if q.expired is True:
        f.add("r.download_url_expiry IS NOT NULL AND r.download_url_expiry <= ?", now_ms)
    elif q.expired is False:
        f.add("(r.download_url_expiry IS NULL OR r.download_url_expiry > ?)", now_ms)
    if q.search is not None:
        _search_clause(tx, f, app_id, q.search)
    return f


def _page(tx: Tx, f: _Filter, descending: bool, limit: int, offset: int) -> list[Row]:
    order = "DESC" if descending else "ASC"
    # Deferred join: walk the covering index for the IDs, then fetch only the rows shown.
    sql = (
        f"SELECT {LIST_COLUMNS} FROM (SELECT r.id FROM recordings r WHERE {f.where}"
        f" ORDER BY r.invoked_time {order}, r.id {order} LIMIT ? OFFSET ?) p"
        " JOIN recordings r ON r.id = p.id JOIN meetings m ON m.id = r.meeting_id"
        f" ORDER BY r.invoked_time {order}, r.id {order}"
    )
    return tx.all(sql, [*f.params, limit, offset])


def _count(tx: Tx, f: _Filter) -> int:
    row = tx.one(f"SELECT count(*) FROM recordings r WHERE {f.where}", f.params)
    return int(row[0]) if row else 0


def _uses_day_counts(q: ListQuery) -> bool:
    return q.meeting_id is None and q.expired is None and q.search is None


def _day_segments(tx: Tx, app_id: str, q: ListQuery) -> list[tuple[int, int]]:
    """(day, matching recordings) for every day with any, in ascending day order; the days at
    the window's edges are counted exactly from the index, the rest come from the counts."""
    sql = "SELECT day, sum(n) FROM recording_day_counts WHERE app_id = ?"
    params: list[Any] = [app_id]
    if q.statuses:
        sql += f" AND status IN ({', '.join('?' * len(q.statuses))})"
        params.extend(q.statuses)
    lo = q.start_ms // DAY_MS if q.start_ms is not None else None
    hi = q.end_ms // DAY_MS if q.end_ms is not None else None
    if lo is not None:
        sql += " AND day >= ?"
        params.append(lo)
    if hi is not None:
        sql += " AND day <= ?"
        params.append(hi)
    counts = {int(d): int(n) for d, n in tx.all(sql + " GROUP BY day", params)}

    edges: set[int] = set()
    if q.start_ms is not None and lo is not None and q.start_ms != lo * DAY_MS:
        edges.add(lo)
    if q.end_ms is not None and hi is not None and q.end_ms != (hi + 1) * DAY_MS - 1:
        edges.add(hi)
    for day in edges:
        first, last = day * DAY_MS, (day + 1) * DAY_MS - 1
        if q.start_ms is not None:
            first = max(first, q.start_ms)
        if q.end_ms is not None:
            last = min(last, q.end_ms)
        edge = _Filter(["r.app_id = ?"], [app_id])
        if q.statuses:
            edge.add(f"r.status IN ({', '.join('?' * len(q.statuses))})", *q.statuses)
        edge.add("r.invoked_time >= ? AND r.invoked_time <= ?", first, last)
        counts[day] = _count(tx, edge)
    return sorted((d, n) for d, n in counts.items() if n > 0)


def list_page(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    """(total matching, the rows of the requested page)."""
    f = _filter(tx, app_id, q, now_ms)
    if not _uses_day_counts(q):
        total = _count(tx, f)
        if q.per_page == 0 or q.offset >= total:
            return total, []
        return total, _page(tx, f, q.descending, q.per_page, q.offset)

    segments = _day_segments(tx, app_id, q)
    total = sum(n for _, n in segments)
    if q.per_page == 0 or q.offset >= total:
        return total, []
    # Find the day where the page begins, then start reading at that day's boundary.
    skipped, day = 0, 0
    for segment_day, n in reversed(segments) if q.descending else segments:
        if skipped + n > q.offset:
            day = segment_day
            break
        skipped += n
    if skipped:
        if q.descending:
            f.add("r.invoked_time <= ?", (day + 1) * DAY_MS - 1)
        else:
            f.add("r.invoked_time >= ?", day * DAY_MS)
    return total, _page(tx, f, q.descending, q.per_page, q.offset - skipped)
