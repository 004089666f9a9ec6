from __future__ import annotations

from reckit.db.engine import Row, Tx


def insert(
    tx: Tx, token_id: str, account_id: str, token_hash: str, permission: str, name: str, now: int
) -> None:
    tx.run(
        "INSERT INTO api_tokens (id, account_id, token_hash, permission, name, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (token_id, account_id, token_hash, permission, name, now),
    )


def active_by_hash(tx: Tx, token_hash: str) -> Row | None:
    """(token_hash, account_id, permission) of a live token."""
    return tx.one(
        "SELECT token_hash, account_id, permission FROM api_tokens"
        " WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash,),
    )


def active_by_hash_with_app(tx: Tx, token_hash: str, app_id: str) -> Row | None:
    """``active_by_hash``, and in the same read the app's (account_id, data_version), NULLs
    when there is no such app: a request under an app needs both (http/context.py), and on
    PostgreSQL each statement is a round trip."""
    return tx.one(
        "SELECT t.token_hash, t.account_id, t.permission, a.account_id, a.data_version"
        " FROM api_tokens t LEFT JOIN apps a ON a.id = ?"
        " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        (app_id, token_hash),
    )


def list_all(tx: Tx, account_id: str | None) -> list[Row]:
    sql = "SELECT id, account_id, permission, name, created_at, revoked_at FROM api_tokens"
    if account_id is None:
        return tx.all(sql + " ORDER BY created_at, id")
    return tx.all(sql + " WHERE account_id = ? ORDER BY created_at, id", (account_id,))


def revoke(tx: Tx, token_id: str, now: int) -> int:
    return tx.run(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, token_id)
    )


def exists(tx: Tx, token_id: str) -> bool:
    return tx.one("SELECT 1 FROM api_tokens WHERE id = ?", (token_id,)) is not None
