"""All SQL of media-plane sessions: who is in a meeting now, and where their media is."""

from __future__ import annotations

from dataclasses import dataclass

from reckit.db.engine import Tx


@dataclass(frozen=True)
class Session:
    id: str
    app_id: str
    meeting_id: str
    media_url: str | None
    participants: int
    ended_at: int | None


@dataclass(frozen=True)
class Source:
    participant_id: str
    user_id: str | None
    name: str | None
    media_url: str | None


_COLUMNS = "id, app_id, meeting_id, media_url, participants, ended_at"


def get(tx: Tx, session_id: str) -> Session | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
    return Session(*row) if row else None


def live_for_meeting(tx: Tx, app_id: str, meeting_id: str) -> Session | None:
    """The meeting's latest session that has not ended."""
    row = tx.one(
        f"SELECT {_COLUMNS} FROM sessions WHERE app_id = ? AND meeting_id = ?"
        " AND ended_at IS NULL ORDER BY started_at DESC, id DESC LIMIT 1",
        (app_id, meeting_id),
    )
    return Session(*row) if row else None


def insert(
    tx: Tx, session_id: str, app_id: str, meeting_id: str, media_url: str | None, now_ms: int
) -> None:
    # Empty from the start: the empty-room rule counts from here until someone joins.
    tx.run(
        "INSERT INTO sessions (id, app_id, meeting_id, media_url, started_at, participants,"
        " empty_since) VALUES (?, ?, ?, ?, ?, 0, ?)",
        (session_id, app_id, meeting_id, media_url, now_ms, now_ms),
    )


def end(tx: Tx, session_id: str, now_ms: int) -> None:
    tx.run(
        "UPDATE sessions SET ended_at = ?, empty_since = coalesce(empty_since, ?)"
        " WHERE id = ? AND ended_at IS NULL",
        (now_ms, now_ms, session_id),
    )
    tx.run(
        "UPDATE session_sources SET left_at = ? WHERE session_id = ? AND left_at IS NULL",
        (now_ms, session_id),
    )


def join(tx: Tx, session_id: str, source: Source, now_ms: int) -> bool:
    """Record a participant in the session; False if it was already in."""
    row = tx.one(
        "SELECT left_at FROM session_sources WHERE session_id = ? AND participant_id = ?",
        (session_id, source.participant_id),
    )
    if row is not None and row[0] is None:
        return False
    if row is None:
        tx.run(
            "INSERT INTO session_sources (session_id, participant_id, user_id, name, media_url,"
            " joined_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                session_id,
                source.participant_id,
                source.user_id,
                source.name,
                source.media_url,
                now_ms,
            ),
        )
    else:
        tx.run(
            "UPDATE session_sources SET left_at = NULL, joined_at = ?, media_url = ?"
            " WHERE session_id = ? AND participant_id = ?",
            (now_ms, source.media_url, session_id, source.participant_id),
        )
    tx.run(
        "UPDATE sessions SET participants = participants + 1, empty_since = NULL WHERE id = ?",
        (session_id,),
    )
    return True


def leave(tx: Tx, session_id: str, participant_id: str, now_ms: int) -> bool:
    changed = tx.run(
        "UPDATE session_sources SET left_at = ? WHERE session_id = ? AND participant_id = ?"
        " AND left_at IS NULL",
        (now_ms, session_id, participant_id),
    )
    if changed == 0:
        return False
    tx.run(
        "UPDATE sessions SET participants = participants - 1, empty_since = CASE"
        " WHEN participants = 1 THEN ? ELSE empty_since END WHERE id = ?",
        (now_ms, session_id),
    )
    return True


def sources(tx: Tx, session_id: str) -> list[Source]:
    """Participants in the session now, in the order they joined."""
    rows = tx.all(
        "SELECT participant_id, user_id, name, media_url FROM session_sources"
        " WHERE session_id = ? AND left_at IS NULL ORDER BY joined_at, participant_id",
        (session_id,),
    )
    return [Source(*r) for r in rows]
