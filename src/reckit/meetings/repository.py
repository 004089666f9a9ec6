"""All SQL of meetings. SQLite keeps the title's trigram index (``meetings_title``) in step here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reckit.db.engine import Tx
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


def insert_many(tx: Tx, meetings: Sequence[NewMeeting]) -> None:
    tx.bulk_insert("meetings", _COLUMNS, [_values(m) for m in meetings])
    if tx.dialect == "sqlite" and meetings:
        ids = [m.id for m in meetings]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            tx.run(
                "INSERT INTO meetings_title (rowid, title) SELECT seq, title FROM meetings"
                f" WHERE id IN ({', '.join('?' * len(chunk))}) AND title IS NOT NULL",
                chunk,
            )


def insert(tx: Tx, meeting: NewMeeting) -> None:
    insert_many(tx, [meeting])
