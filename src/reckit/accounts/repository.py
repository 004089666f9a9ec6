from __future__ import annotations

from reckit.db.engine import Tx


def insert(tx: Tx, account_id: str, name: str, now_ms: int) -> None:
    tx.run(
        "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)", (account_id, name, now_ms)
    )


def exists(tx: Tx, account_id: str) -> bool:
    return tx.one("SELECT 1 FROM accounts WHERE id = ?", (account_id,)) is not None


def count(tx: Tx) -> int:
    row = tx.one("SELECT count(*) FROM accounts")
    return int(row[0]) if row else 0


def list_all(tx: Tx) -> list[tuple[str, str, int]]:
    """Every account as (id, name, created_at), oldest first."""
    rows = tx.all("SELECT id, name, created_at FROM accounts ORDER BY created_at, id")
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]
