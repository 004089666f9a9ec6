"""All SQL of recorder tokens (the recorder API's credentials, apart from the public API's)."""

from __future__ import annotations

from reckit.db.engine import Row, Tx


def insert(tx: Tx, token_id: str, token_hash: str, name: str, now_ms: int) -> None:
    tx.run(
        "INSERT INTO recorder_tokens (id, token_hash, name, created_at) VALUES (?, ?, ?, ?)",
        (token_id, token_hash, name, now_ms),
    )


def find(tx: Tx, token_hash: str) -> Row | None:
    """(id, name, hash) of a token that is not revoked."""
    return tx.one(
        "SELECT id, name, token_hash FROM recorder_tokens"
        " WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash,),
    )


def revoke_named(tx: Tx, name: str, now_ms: int) -> None:
    tx.run(
        "UPDATE recorder_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        (now_ms, name),
    )


def all_tokens(tx: Tx) -> list[Row]:
    return tx.all(
        "SELECT id, name, created_at, revoked_at FROM recorder_tokens ORDER BY created_at"
    )


def revoke(tx: Tx, token_id: str, now_ms: int) -> bool:
    return (
        tx.run(
            "UPDATE recorder_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (now_ms, token_id),
        )
        == 1
    )
