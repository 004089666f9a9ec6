"""The apps table; rows come out as ``App``."""

from __future__ import annotations

from typing import Any

import orjson

from reckit.apps.models import App
from reckit.db.engine import Tx


def insert(tx: Tx, app: App, account_id: str) -> None:
    tx.run(
        "INSERT INTO apps (id, account_id, name, created_at) VALUES (?, ?, ?, ?)",
        (app.id, account_id, app.name, app.created_at),
    )


def owner_and_version(tx: Tx, app_id: str) -> tuple[str, int] | None:
    """The app's account and data version; read once per read-only transaction (a list request
    needs them to authorize and again for its cached counts)."""
    key = ("owner_and_version", app_id)
    if tx.seen is not None and key in tx.seen:
        seen: tuple[str, int] | None = tx.seen[key]
        return seen
    row = tx.one("SELECT account_id, data_version FROM apps WHERE id = ?", (app_id,))
    found = (str(row[0]), int(row[1])) if row else None
    remember_owner_and_version(tx, app_id, found)
    return found


def remember_owner_and_version(tx: Tx, app_id: str, found: tuple[str, int] | None) -> None:
    """What ``owner_and_version`` would read, read by another query of this transaction."""
    if tx.seen is not None:
        tx.seen[("owner_and_version", app_id)] = found


def meetings_version(tx: Tx, app_id: str) -> int | None:
    row = tx.one("SELECT meetings_version FROM apps WHERE id = ?", (app_id,))
    return int(row[0]) if row else None


def touch(tx: Tx, app_id: str, *, meetings: bool = True) -> None:
    """Mark the app's listable data changed (see http/page_cache.py); every write to its
    recordings or meetings calls this in the same transaction. ``meetings=False``: the write
    changed no meeting (a recording's status or fields, not its meeting's count or times), so
    what a search resolves (recordings/list_meetings.py) is unchanged."""
    also = ", meetings_version = meetings_version + 1" if meetings else ""
    tx.run(f"UPDATE apps SET data_version = data_version + 1{also} WHERE id = ?", (app_id,))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_page(
    tx: Tx, account_id: str, search: str | None, descending: bool, limit: int, offset: int
) -> tuple[int, list[App]]:
    """(how many match, the page), by creation time, ID as tie-break."""
    cond, params = "account_id = ?", [account_id]
    if search is not None:
        cond += " AND lower(name) LIKE ? ESCAPE '\\'"
        params.append("%" + _like_escape(search.lower()) + "%")
    row = tx.one(f"SELECT count(*) FROM apps WHERE {cond}", params)
    total = int(row[0]) if row else 0
    if offset >= total:
        return total, []
    order = "DESC" if descending else "ASC"
    rows = tx.all(
        f"SELECT id, name, created_at FROM apps WHERE {cond}"
        f" ORDER BY created_at {order}, id {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return total, [App(str(r[0]), str(r[1]), int(r[2])) for r in rows]


def recording_config(tx: Tx, app_id: str) -> dict[str, Any] | None:
    """The app-level ``recording_config`` layer (wire-spec §2.5), parsed; None when unset."""
    row = tx.one("SELECT recording_config FROM apps WHERE id = ?", (app_id,))
    if row is None or row[0] is None:
        return None
    config: dict[str, Any] = orjson.loads(row[0])
    return config
