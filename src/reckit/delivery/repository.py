"""All SQL of jobs: transfers kept in the database until they are confirmed, so that neither a
failed upload nor a crash loses one.

A job is claimed with a lease: ``lease_until`` (when another node may take it over),
``lease_owner`` (the node holding it: ``<data_dir>/node.id``, delivery/runner.py) and
``lease_token`` (new at every claim). Every outcome of an attempt is written with the token it
was claimed under, compared in the UPDATE: an attempt that was timed out, released or taken over
finds its token gone, and its late result changes nothing. A node that dies holding a lease
releases it when it starts again (``release_owned``); another node waits for ``lease_until``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
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
    host: str | None = None  # the destination, for the per-host bound (NULL: older jobs)
    lease_until: int | None = None
    lease_owner: str | None = None
    lease_token: str | None = None


_COLUMNS = (
    "id, kind, recording_id, payload, status, attempts, last_error, host, lease_until,"
    " lease_owner, lease_token"
)


def _job(row: Row) -> Job:
    return Job(row[0], row[1], row[2], orjson.loads(row[3]), row[4], int(row[5]), row[6], row[7],
               None if row[8] is None else int(row[8]), row[9], row[10])  # fmt: skip


def add(
    tx: Tx, kind: str, recording_id: str, payload: dict[str, Any], now_ms: int,
    host: str | None = None,
) -> str:  # fmt: skip
    job_id = new_uuid()
    tx.run(
        "INSERT INTO jobs (id, kind, recording_id, payload, status, next_at, created_at,"
        " updated_at, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (job_id, kind, recording_id, orjson.dumps(payload).decode(), PENDING, now_ms, now_ms,
         now_ms, host),
    )  # fmt: skip
    return job_id


def claim_due(
    tx: Tx, now_ms: int, lease_ms: int, limit: int, *, owner: str | None = None,
    skip_hosts: Collection[str] = (), accept: Callable[[Job], bool] | None = None,
) -> list[Job]:  # fmt: skip
    """Up to ``limit`` due pending jobs nobody holds, leased to ``owner`` under a new token
    each (their attempt counted), oldest due first. Jobs whose host is in ``skip_hosts`` are
    not looked at; ``accept`` may turn down others (it sees them in order and keeps its own
    count). Jobs passed over stay pending, untouched."""
    if limit <= 0:
        return []
    skip = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgres" else ""
    hosts = sorted(skip_hosts)
    marks = ", ".join("?" * len(hosts))
    not_busy = f" AND (host IS NULL OR host NOT IN ({marks}))" if hosts else ""
    # With a filter, look further than ``limit``: some of the first due jobs may be turned down.
    scan = limit if accept is None else max(64, limit * 16)
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM jobs WHERE status = 'pending' AND next_at <= ?"
        f" AND (lease_until IS NULL OR lease_until <= ?){not_busy} ORDER BY next_at, id"
        f" LIMIT ?{skip}",
        (now_ms, now_ms, *hosts, scan),
    )
    chosen: list[Job] = []
    for row in rows:
        job = _job(row)
        if accept is None or accept(job):
            chosen.append(job)
            if len(chosen) == limit:
                break
    leased = [
        replace(j, attempts=j.attempts + 1, lease_until=now_ms + lease_ms, lease_owner=owner,
                lease_token=new_uuid())
        for j in chosen
    ]  # fmt: skip
    tx.many(
        "UPDATE jobs SET lease_until = ?, lease_owner = ?, lease_token = ?,"
        " attempts = attempts + 1, updated_at = ? WHERE id = ?",
        [(j.lease_until, j.lease_owner, j.lease_token, now_ms, j.id) for j in leased],
    )
    return leased


def _held(token: str | None) -> tuple[str, tuple[str, ...]]:
    """The guard of an attempt's write: the job must still be leased under its token."""
    return (" AND lease_token = ?", (token,)) if token is not None else ("", ())


_UNLEASED = "lease_until = NULL, lease_owner = NULL, lease_token = NULL"


def succeed(tx: Tx, job_id: str, now_ms: int, token: str | None = None) -> bool:
    """Done; False (and nothing written) when ``token`` no longer holds the job."""
    guard, held = _held(token)
    return (
        tx.run(
            f"UPDATE jobs SET status = 'done', {_UNLEASED}, last_error = NULL, updated_at = ?"
            f" WHERE id = ?{guard}",
            (now_ms, job_id, *held),
        )
        == 1
    )


def retry_at(
    tx: Tx, job_id: str, when_ms: int, error: str, now_ms: int, token: str | None = None
) -> bool:
    """Pending again from ``when_ms``; False (and nothing written) when ``token`` no longer
    holds the job."""
    guard, held = _held(token)
    return (
        tx.run(
            f"UPDATE jobs SET next_at = ?, {_UNLEASED}, last_error = ?, updated_at = ?"
            f" WHERE id = ?{guard}",
            (when_ms, error, now_ms, job_id, *held),
        )
        == 1
    )


def fail(tx: Tx, job_id: str, error: str, now_ms: int, token: str | None = None) -> bool:
    """Failed for good; False (and nothing written) when ``token`` no longer holds the job."""
    guard, held = _held(token)
    return (
        tx.run(
            f"UPDATE jobs SET status = 'failed', {_UNLEASED}, last_error = ?, updated_at = ?"
            f" WHERE id = ?{guard}",
            (error, now_ms, job_id, *held),
        )
        == 1
    )


def release(tx: Tx, job_id: str, token: str, now_ms: int) -> bool:
    """Give a lease back unused (a node shutting down): due at once, its attempt not counted."""
    return (
        tx.run(
            f"UPDATE jobs SET {_UNLEASED}, updated_at = ?,"
            " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
            " WHERE id = ? AND lease_token = ? AND status = 'pending'",
            (now_ms, job_id, token),
        )
        == 1
    )


def release_owned(tx: Tx, owner: str, now_ms: int) -> int:
    """Release every lease ``owner`` holds: that node has just started, so none of its
    transfers is alive. Their attempts stay counted (one may be what brought the node down).
    How many were released."""
    return tx.run(
        f"UPDATE jobs SET {_UNLEASED}, updated_at = ? WHERE lease_owner = ? AND status = 'pending'",
        (now_ms, owner),
    )


def for_recording(tx: Tx, recording_id: str) -> list[Job]:
    rows = tx.all(f"SELECT {_COLUMNS} FROM jobs WHERE recording_id = ? ORDER BY created_at, id",
                  (recording_id,))  # fmt: skip
    return [_job(r) for r in rows]


def get(tx: Tx, job_id: str) -> Job | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
    return _job(row) if row is not None else None
