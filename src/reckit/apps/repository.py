from __future__ import annotations

from reckit.db.engine import Tx


def insert(tx: Tx, app_id: str, account_id: str, name: str, now_ms: int) -> None:
    tx.run(
        "INSERT INTO apps (id, account_id, name, created_at) VALUES (?, ?, ?, ?)",
        (app_id, account_id, name, now_ms),
    )


def owner_and_version(tx: Tx, app_id: str) -> tuple[str, int] | None:
    row = tx.one("SELECT account_id, data_version FROM apps WHERE id = ?", (app_id,))
    return (str(row[0]), int(row[1])) if row else None


def touch(tx: Tx, app_id: str) -> None:
    """Mark the app's listable data changed (see http/page_cache.py); every write to its
    recordings or meetings calls this in the same transaction."""
    tx.run("UPDATE apps SET data_version = data_version + 1 WHERE id = ?", (app_id,))
