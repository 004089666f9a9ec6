"""All SQL of webhooks (migration 9): subscriptions, the shared signing key, the answers of
delivery attempts and, per URL, its run of failures and pause. The deliveries themselves are
jobs (jobs/repository.py), kind ``webhook``, subject the webhook's ID."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from reckit.db.engine import Row, Tx
from reckit.webhooks.models import Attempt, Webhook

_COLUMNS = "id, app_id, name, url, events, enabled, created_at, updated_at"


def _webhook(row: Row) -> Webhook:
    return Webhook(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        tuple(orjson.loads(row[4])),
        bool(row[5]),
        int(row[6]),
        int(row[7]),
    )


def insert(tx: Tx, w: Webhook) -> None:
    tx.run(
        f"INSERT INTO webhooks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            w.id,
            w.app_id,
            w.name,
            w.url,
            orjson.dumps(list(w.events)).decode(),
            int(w.enabled),
            w.created_at,
            w.updated_at,
        ),
    )


def update(tx: Tx, w: Webhook) -> None:
    tx.run(
        "UPDATE webhooks SET name = ?, url = ?, events = ?, enabled = ?, updated_at = ?"
        " WHERE id = ? AND app_id = ?",
        (
            w.name,
            w.url,
            orjson.dumps(list(w.events)).decode(),
            int(w.enabled),
            w.updated_at,
            w.id,
            w.app_id,
        ),
    )


def delete(tx: Tx, app_id: str, webhook_id: str) -> None:
    tx.run("DELETE FROM webhooks WHERE id = ? AND app_id = ?", (webhook_id, app_id))


def get(tx: Tx, app_id: str, webhook_id: str, *, lock: bool = False) -> Webhook | None:
    sql = f"SELECT {_COLUMNS} FROM webhooks WHERE id = ? AND app_id = ?"
    if lock and tx.dialect == "postgres":
        sql += " FOR UPDATE"
    row = tx.one(sql, (webhook_id, app_id))
    return _webhook(row) if row is not None else None


def get_by_id(tx: Tx, webhook_id: str) -> Webhook | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM webhooks WHERE id = ?", (webhook_id,))
    return _webhook(row) if row is not None else None


def for_app(tx: Tx, app_id: str) -> list[Webhook]:
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM webhooks WHERE app_id = ? ORDER BY created_at, id", (app_id,)
    )
    return [_webhook(r) for r in rows]


def subscribed(tx: Tx, app_id: str, event: str) -> list[Webhook]:
    """The app's enabled webhooks that subscribe to ``event``, oldest first."""
    return [w for w in for_app(tx, app_id) if w.enabled and event in w.events]


# -- the signing key (one row, slot 1, shared by every node) ---------------------------------


def signing_key(tx: Tx) -> tuple[str, str] | None:
    """(private PEM, public PEM), or None before the first start made one."""
    row = tx.one("SELECT private_pem, public_pem FROM webhook_signing_key WHERE slot = 1")
    return (str(row[0]), str(row[1])) if row is not None else None


def add_signing_key(tx: Tx, private_pem: str, public_pem: str, now_ms: int) -> None:
    """Keep this key unless one is there already (nodes starting together: the first wins)."""
    tx.run(
        "INSERT INTO webhook_signing_key (slot, private_pem, public_pem, created_at)"
        " VALUES (1, ?, ?, ?) ON CONFLICT (slot) DO NOTHING",
        (private_pem, public_pem, now_ms),
    )


def replace_signing_key(tx: Tx, private_pem: str, public_pem: str, now_ms: int) -> None:
    tx.run("DELETE FROM webhook_signing_key WHERE slot = 1")
    add_signing_key(tx, private_pem, public_pem, now_ms)


# -- attempts --------------------------------------------------------------------------------


def add_attempt(
    tx: Tx, job_id: str, attempt: int, at: int, code: int | None, error: str | None
) -> None:
    tx.run(
        "INSERT INTO webhook_attempts (job_id, attempt, at, code, error) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (job_id, attempt) DO UPDATE SET at = excluded.at, code = excluded.code,"
        " error = excluded.error",
        (job_id, attempt, at, code, error),
    )


def attempts(tx: Tx, job_ids: Sequence[str]) -> dict[str, list[Attempt]]:
    out: dict[str, list[Attempt]] = {j: [] for j in job_ids}
    if not job_ids:
        return out
    marks = ", ".join("?" * len(job_ids))
    rows = tx.all(
        f"SELECT job_id, attempt, at, code, error FROM webhook_attempts WHERE job_id IN ({marks})"
        " ORDER BY job_id, attempt",
        tuple(job_ids),
    )
    for r in rows:
        out[str(r[0])].append(
            Attempt(int(r[1]), int(r[2]), None if r[3] is None else int(r[3]), r[4])
        )
    return out


# -- paused URLs -----------------------------------------------------------------------------


def paused_urls(tx: Tx, now_ms: int) -> list[str]:
    rows = tx.all("SELECT url FROM webhook_url_health WHERE paused_until > ?", (now_ms,))
    return [str(r[0]) for r in rows]


def count_failure(tx: Tx, url: str) -> tuple[int, int]:
    """One more failure in a row for ``url``, counted atomically (attempts of one URL settle
    side by side): (failures in a row now, the last pause's length in ms). The row stays
    locked to the end of the transaction."""
    row = tx.one(
        "INSERT INTO webhook_url_health (url, failures, paused_until, pause_ms)"
        " VALUES (?, 1, 0, 0) ON CONFLICT (url) DO UPDATE"
        " SET failures = webhook_url_health.failures + 1 RETURNING failures, pause_ms",
        (url,),
    )
    assert row is not None
    return int(row[0]), int(row[1])


def set_url_health(tx: Tx, url: str, failures: int, paused_until: int, pause_ms: int) -> None:
    tx.run(
        "INSERT INTO webhook_url_health (url, failures, paused_until, pause_ms)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET failures = excluded.failures,"
        " paused_until = excluded.paused_until, pause_ms = excluded.pause_ms",
        (url, failures, paused_until, pause_ms),
    )


# -- what the events' bodies name ------------------------------------------------------------


def app_name(tx: Tx, app_id: str) -> str | None:
    row = tx.one("SELECT name FROM apps WHERE id = ?", (app_id,))
    return None if row is None else str(row[0])


def session_times(tx: Tx, session_id: str) -> tuple[int, int | None] | None:
    """A media-plane session's (started_at, ended_at)."""
    row = tx.one("SELECT started_at, ended_at FROM sessions WHERE id = ?", (session_id,))
    if row is None:
        return None
    return int(row[0]), None if row[1] is None else int(row[1])


def participant(tx: Tx, session_id: str, participant_id: str) -> tuple[Row, ...] | None:
    """(user_id, name, joined_at, left_at) of a session's participant."""
    row = tx.one(
        "SELECT user_id, name, joined_at, left_at FROM session_sources"
        " WHERE session_id = ? AND participant_id = ?",
        (session_id, participant_id),
    )
    return None if row is None else tuple(row)
