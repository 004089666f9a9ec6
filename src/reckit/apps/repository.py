from __future__ import annotations

from reckit.db.engine import Row, Tx


def insert(tx: Tx, app_id: str, account_id: str, name: str, now_ms: int) -> None:
    tx.run(
        "INSERT INTO apps (id, account_id, name, created_at) VALUES (?, ?, ?, ?)",
        (app_id, account_id, name, now_ms),
    )


def owner(tx: Tx, app_id: str) -> str | None:
    row = tx.one("SELECT account_id FROM apps WHERE id = ?", (app_id,))
    return str(row[0]) if row else None


def list_for_account(tx: Tx, account_id: str) -> list[Row]:
    return tx.all(
        "SELECT id, name, created_at FROM apps WHERE account_id = ? ORDER BY created_at DESC, id",
        (account_id,),
    )
