"""All SQL of meetings. SQLite keeps the title's trigram index (``meetings_title``) in step here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reckit.apps import repository as apps
from reckit.db.engine import Tx
from reckit.db.schema import PG_TITLE_INDEX
from reckit.meetings.models import NewMeeting

_COLUMNS = (
    "id", "app_id", "title", "status", "record_on_start", "live_stream_on_start",
    "persist_chat", "summarize_on_end", "transcribe_on_end", "session_keep_alive_time_in_secs",
    "recording_config", "ai_config", "created_at", "updated_at",
)  # fmt: skip


def _values(m: NewMeeting) -> tuple[Any, ...]:
    return (
        m.id, m.app_id, m.title, m.status, m.record_on_start, m.live_stream_on_start,
        m.persist_chat, m.summarize_on_end, m.transcribe_on_end,
        m.session_keep_alive_time_in_secs, m.recording_config, m.ai_config, m.created_at,
        m.updated_at,
    )  # fmt: skip


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
        tx.bulk_insert("meetings", _COLUMNS, [_values(m) for m in meetings])
        if bulk:
            tx.script(PG_TITLE_INDEX)
        return
    # New rows get a seq above every existing one (INTEGER PRIMARY KEY without AUTOINCREMENT
    # takes max + 1, and this transaction holds the write lock): index just those titles.
    row = tx.one("SELECT coalesce(max(seq), 0) FROM meetings")
    before = int(row[0]) if row else 0
    tx.bulk_insert("meetings", _COLUMNS, [_values(m) for m in meetings])
    tx.run(
        "INSERT INTO meetings_title (rowid, title) SELECT seq, title FROM meetings"
        " WHERE seq > ? AND title IS NOT NULL",
        (before,),
    )
    if bulk:  # merge the index into one segment: a search then reads each trigram once
        tx.run("INSERT INTO meetings_title (meetings_title) VALUES ('optimize')")


def insert(tx: Tx, meeting: NewMeeting) -> None:
    insert_many(tx, [meeting])
