"""All SQL of meetings. SQLite keeps the title's trigram index (``meetings_title``) in step here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.db.schema import PG_TITLE_INDEX
from reckit.meetings import render
from reckit.meetings.models import Meeting, MeetingQuery, NewMeeting

_COLUMNS = (
    "id",
    "app_id",
    "title",
    "status",
    "record_on_start",
    "live_stream_on_start",
    "persist_chat",
    "summarize_on_end",
    "transcribe_on_end",
    "session_keep_alive_time_in_secs",
    "recording_config",
    "ai_config",
    "created_at",
    "updated_at",
)


def _values(m: NewMeeting) -> tuple[Any, ...]:
    return (
        m.id,
        m.app_id,
        m.title,
        m.status,
        m.record_on_start,
        m.live_stream_on_start,
        m.persist_chat,
        m.summarize_on_end,
        m.transcribe_on_end,
        m.session_keep_alive_time_in_secs,
        m.recording_config,
        m.ai_config,
        m.created_at,
        m.updated_at,
    )


# Inserted with every meeting: its part of a recordings list item (recordings/render.py).
_INSERTED = (*_COLUMNS, "listing")


def _inserted(m: NewMeeting) -> tuple[Any, ...]:
    return (*_values(m), render.list_part(m))


_BULK = 10_000


def _fewer_than(tx: Tx, n: int) -> bool:
    row = tx.one("SELECT count(*) FROM (SELECT 1 FROM meetings LIMIT ?) AS x", (n,))
    return row is not None and int(row[0]) < n


def insert_many(tx: Tx, meetings: Sequence[NewMeeting]) -> None:
    if not meetings:
        return
    for app_id in {m.app_id for m in meetings}:
        apps.touch(tx, app_id)
    # Many meetings into a table with fewer: rebuild the title index as a whole afterwards.
    bulk = len(meetings) >= _BULK and _fewer_than(tx, len(meetings))
    if tx.dialect == "postgres":
        if bulk:  # one bulk build instead of a GIN insert per row
            tx.script("DROP INDEX IF EXISTS meetings_title_trgm")
        tx.bulk_insert("meetings", _INSERTED, [_inserted(m) for m in meetings])
        if bulk:
            tx.script(PG_TITLE_INDEX)
        return
    # New rows get a seq above every existing one (INTEGER PRIMARY KEY without AUTOINCREMENT
    # takes max + 1, and this transaction holds the write lock): index just those titles.
    row = tx.one("SELECT coalesce(max(seq), 0) FROM meetings")
    before = int(row[0]) if row else 0
    tx.bulk_insert("meetings", _INSERTED, [_inserted(m) for m in meetings])
    tx.run(
        "INSERT INTO meetings_title (rowid, title) SELECT seq, title FROM meetings"
        " WHERE seq > ? AND title IS NOT NULL",
        (before,),
    )
    if bulk:  # merge the index into one segment: a search then reads each trigram once
        tx.run("INSERT INTO meetings_title (meetings_title) VALUES ('optimize')")


def insert(tx: Tx, meeting: NewMeeting) -> None:
    insert_many(tx, [meeting])


# --- reads and updates of single meetings, and the list -------------------------------------

_READ = (
    "SELECT id, app_id, title, status, record_on_start, live_stream_on_start, persist_chat,"
    " summarize_on_end, transcribe_on_end, session_keep_alive_time_in_secs, recording_config,"
    " ai_config, created_at, updated_at FROM meetings"
)
# The columns an update may set (the names go into SQL text: only these ever do).
UPDATABLE = frozenset(_COLUMNS) - {"id", "app_id", "created_at", "updated_at"}
# A meeting ID or a prefix of one: lowercase hex and dashes (decisions.md: IDs are lowercase).
_ID_PREFIX = re.compile(r"^[0-9a-f-]+\Z")


def _json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value: dict[str, Any] = orjson.loads(text)
    return value


def _meeting(row: Row) -> Meeting:
    return Meeting(
        id=row[0],
        app_id=row[1],
        title=row[2],
        status=row[3],
        record_on_start=bool(row[4]),
        live_stream_on_start=bool(row[5]),
        persist_chat=bool(row[6]),
        summarize_on_end=bool(row[7]),
        transcribe_on_end=bool(row[8]),
        session_keep_alive_time_in_secs=int(row[9]),
        recording_config=_json(row[10]),
        ai_config=_json(row[11]),
        created_at=int(row[12]),
        updated_at=int(row[13]),
    )


def get(tx: Tx, app_id: str, meeting_id: str, *, lock: bool = False) -> Meeting | None:
    sql = f"{_READ} WHERE app_id = ? AND id = ?"
    if lock and tx.dialect == "postgres":
        # SQLite needs no row lock: a write transaction there already excludes other writers.
        sql += " FOR UPDATE"
    row = tx.one(sql, (app_id, meeting_id))
    return _meeting(row) if row else None


def update(tx: Tx, app_id: str, meeting_id: str, columns: dict[str, Any], now_ms: int) -> None:
    unknown = columns.keys() - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if tx.dialect == "sqlite" and "title" in columns:
        row = tx.one(
            "SELECT seq, title FROM meetings WHERE app_id = ? AND id = ?", (app_id, meeting_id)
        )
        if row is not None:
            _reindex_title(tx, int(row[0]), row[1], columns["title"])
    before = tx.one(
        "SELECT listing FROM meetings WHERE app_id = ? AND id = ?", (app_id, meeting_id)
    )
    sets = [f"{name} = ?" for name in columns] + ["updated_at = ?"]
    tx.run(
        f"UPDATE meetings SET {', '.join(sets)} WHERE app_id = ? AND id = ?",
        (*columns.values(), now_ms, app_id, meeting_id),
    )
    after = get(tx, app_id, meeting_id)
    if after is not None:
        part = render.list_part(after)
        tx.run(
            "UPDATE meetings SET listing = ? WHERE app_id = ? AND id = ?",
            (part, app_id, meeting_id),
        )
        _relist_recordings(tx, app_id, meeting_id, before[0] if before else None, part)
    apps.touch(tx, app_id)


def _relist_recordings(tx: Tx, app_id: str, meeting_id: str, old: str | None, new: str) -> None:
    """Every recording of the meeting shows its new part. A stored list item ends with its
    meeting's part and the item's closing brace (recordings/render.py ``list_item``): that tail
    is replaced as text, without rendering the recordings again. An item that does not end with
    the old part (none should) is dropped, and so rendered from its columns until the next start
    fills it in (cli/common.py)."""
    if old == new:
        return
    new_tail = new + "}"
    if old is not None:
        old_tail = old + "}"
        tx.run(
            _RELIST[tx.dialect],
            (len(old_tail), new_tail, app_id, meeting_id, len(old_tail), old_tail),
        )
    tx.run(_UNLIST[tx.dialect], (app_id, meeting_id, len(new_tail), new_tail))


# _relist_recordings' SQL: the tail of an item cut off by its length and put back in place, on
# each engine (both count characters).
_RELIST = {
    "sqlite": "UPDATE recordings SET listing = substr(listing, 1, length(listing) - ?) || ?"
    " WHERE app_id = ? AND meeting_id = ? AND substr(listing, -?) = ?",
    "postgres": "UPDATE recordings SET listing = left(listing, -CAST(? AS integer)) || ?"
    " WHERE app_id = ? AND meeting_id = ? AND right(listing, CAST(? AS integer)) = ?",
}
_UNLIST = {
    "sqlite": "UPDATE recordings SET listing = NULL"
    " WHERE app_id = ? AND meeting_id = ? AND substr(listing, -?) <> ?",
    "postgres": "UPDATE recordings SET listing = NULL"
    " WHERE app_id = ? AND meeting_id = ? AND right(listing, CAST(? AS integer)) <> ?",
}


def list_parts(tx: Tx, meeting_ids: Sequence[str]) -> dict[str, str]:
    """The list part (``render.list_part``) of each of ``meeting_ids`` that exists: stored, or
    rendered from its columns where a node that predates it left it out."""
    parts: dict[str, str] = {}
    ids = list(dict.fromkeys(meeting_ids))
    listed = _READ.replace("SELECT ", "SELECT listing, ", 1)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = tx.all(f"{listed} WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        for row in rows:
            parts[str(row[1])] = (
                row[0] if row[0] is not None else render.list_part(_meeting(row[1:]))
            )
    return parts


def unlisted(tx: Tx) -> int:
    """How many meetings have no stored list part (``meetings_unlisted``, a partial index)."""
    row = tx.one("SELECT count(*) FROM meetings WHERE listing IS NULL")
    return int(row[0]) if row else 0


def fill_listings(tx: Tx, limit: int) -> int:
    """Store the list part of up to ``limit`` meetings without one; how many were."""
    rows = tx.all(f"{_READ} WHERE listing IS NULL ORDER BY id LIMIT ?", (limit,))
    tx.many(
        "UPDATE meetings SET listing = ? WHERE id = ?",
        [(render.list_part(m), m.id) for m in map(_meeting, rows)],
    )
    return len(rows)


def _reindex_title(tx: Tx, seq: int, old: str | None, new: str | None) -> None:
    """An external-content FTS5 table forgets a row only when told its old values."""
    if old == new:
        return
    if old is not None:
        tx.run(
            "INSERT INTO meetings_title (meetings_title, rowid, title) VALUES ('delete', ?, ?)",
            (seq, old),
        )
    if new is not None:
        tx.run("INSERT INTO meetings_title (rowid, title) VALUES (?, ?)", (seq, new))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(tx: Tx, needle: str) -> tuple[str, list[Any]]:
    """Search (decisions.md): a case-insensitive substring of the title, or the meeting ID
    (whole, or a prefix of at least 8 characters)."""
    needle = needle.lower()
    if tx.dialect == "sqlite" and len(needle) >= 3:
        # The trigram index answers substring queries of three characters or more.
        clauses = ["seq IN (SELECT rowid FROM meetings_title WHERE meetings_title MATCH ?)"]
        params: list[Any] = ['"' + needle.replace('"', '""') + '"']
    else:  # PostgreSQL's pg_trgm index on lower(title) serves this LIKE; SQLite scans the app
        clauses = ["lower(title) LIKE ? ESCAPE '\\'"]
        params = ["%" + _like_escape(needle) + "%"]
    if len(needle) >= 8 and _ID_PREFIX.match(needle):
        # IDs are stored lowercase, so a prefix is a range of the (app_id, id) index.
        clauses.append("(id >= ? AND id < ?)")
        params += [needle, needle[:-1] + chr(ord(needle[-1]) + 1)]
    return f"({' OR '.join(clauses)})", params


def list_page(tx: Tx, app_id: str, q: MeetingQuery) -> tuple[int, list[Meeting]]:
    """(how many match, the page): newest first, ID as tie-break (wire-spec §4.1)."""
    where: list[str] = ["app_id = ?"]
    params: list[Any] = [app_id]
    if q.status is not None:
        where.append("status = ?")
        params.append(q.status)
    if q.start_ms is not None:
        where.append("created_at >= ?")
        params.append(q.start_ms)
    if q.end_ms is not None:
        where.append("created_at <= ?")
        params.append(q.end_ms)
    if q.search is not None:
        clause, extra = _search(tx, q.search)
        where.append(clause)
        params += extra
    cond = " AND ".join(where)
    row = tx.one(f"SELECT count(*) FROM meetings WHERE {cond}", params)
    total = int(row[0]) if row else 0
    if q.per_page == 0 or q.offset >= total:
        return total, []
    rows = tx.all(
        f"{_READ} WHERE {cond} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, q.per_page, q.offset],
    )
    return total, [_meeting(r) for r in rows]
