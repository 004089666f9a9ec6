"""All SQL of jobs: transfers kept in the database until they are confirmed, so that neither a
failed upload nor a crash loses one. A job is claimed with a lease; a node that dies holding it
lets the lease run out and another (or the same, restarted) takes it over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from reckit.db.engine import Row, Tx
from reckit.ids import new_uuid

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    recording_id: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None


_COLUMNS = "id, kind, recording_id, payload, status, attempts, last_error"


def _job(row: Row) -> Job:
    return Job(row[0], row[1], row[2], orjson.loads(row[3]), row[4], int(row[5]), row[6])


def add(tx: Tx, kind: str, recording_id: str, payload: dict[str, Any], now_ms: int) -> str:
    job_id = new_uuid()
    tx.run(
        "INSERT INTO jobs (id, kind, recording_id, payload, status, next_at, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (job_id, kind, recording_id, orjson.dumps(payload).decode(), PENDING, now_ms, now_ms,
         now_ms),
    )  # fmt: skip
    return job_id


def claim_due(tx: Tx, now_ms: int, lease_ms: int, limit: int) -> list[Job]:
    """Due pending jobs nobody holds, leased to the caller (their attempt counted)."""
    skip = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgres" else ""
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM jobs WHERE status = 'pending' AND next_at <= ?"
        f" AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_at LIMIT ?{skip}",
        (now_ms, now_ms, limit),
    )
    jobs = [_job(r) for r in rows]
    tx.many(
        "UPDATE jobs SET lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?",
        [(now_ms + lease_ms, now_ms, j.id) for j in jobs],
    )
    return [Job(j.id, j.kind, j.recording_id, j.payload, j.status, j.attempts + 1, j.last_error)
            for j in jobs]  # fmt: skip


def succeed(tx: Tx, job_id: str, now_ms: int) -> None:
    tx.run(
        "UPDATE jobs SET status = 'done', lease_until = NULL, last_error = NULL, updated_at = ?"
        " WHERE id = ?",
        (now_ms, job_id),
    )


def retry_at(tx: Tx, job_id: str, when_ms: int, error: str, now_ms: int) -> None:
    tx.run(
        "UPDATE jobs SET next_at = ?, lease_until = NULL, last_error = ?, updated_at = ?"
        " WHERE id = ?",
        (when_ms, error, now_ms, job_id),
    )


def fail(tx: Tx, job_id: str, error: str, now_ms: int) -> None:
    tx.run(
        "UPDATE jobs SET status = 'failed', lease_until = NULL, last_error = ?, updated_at = ?"
        " WHERE id = ?",
        (error, now_ms, job_id),
    )


def for_recording(tx: Tx, recording_id: str) -> list[Job]:
    rows = tx.all(f"SELECT {_COLUMNS} FROM jobs WHERE recording_id = ? ORDER BY created_at, id",
                  (recording_id,))  # fmt: skip
    return [_job(r) for r in rows]
