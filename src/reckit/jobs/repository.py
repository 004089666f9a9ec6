"""All SQL of jobs (the ``jobs`` table: migrations 4, 7 and 8).

A job has a ``kind`` (the runner that claims it claims only its own kinds), a ``subject`` (what
it is about, e.g. a recording's ID; the column is ``recording_id``, from when every job was a
recording's), a JSON ``payload``, and optionally:
- a ``host``: where its work goes (a destination server), so that a claim can pass over the
  jobs of hosts that are busy enough (delivery/runner.py bounds transfers per host);
- a ``key``: the jobs of one key run one at a time, in the order they were added. A job is not
  claimed while an earlier job of its key is still pending (due, leased, or waiting for a
  retry); once that one is done or has failed for good, the next may go. Adding takes a lock
  per key (PostgreSQL: an advisory lock held to the end of the transaction; SQLite: the one
  writer's lock), so a key's order is the order its adders commit in. Jobs without a key run
  in any order, side by side.

A job is claimed with a lease: ``lease_until`` (when another node may take it over),
``lease_owner`` (the node holding it: ``<data_dir>/node.id``, jobs/node.py) and
``lease_token`` (new at every claim). Every outcome of an attempt is written with the token it
was claimed under, compared in the UPDATE: an attempt that was timed out, released or taken over
finds its token gone, and its late result changes nothing. A node that dies holding a lease
releases it when it starts again (``release_owned``); another node waits for ``lease_until``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any

import orjson

from reckit.db.engine import Row, Tx
from reckit.ids import new_uuid
from reckit.jobs.backoff import Backoff

PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"

# The first half of the advisory lock a key's adders take on PostgreSQL (the second is a hash of
# the key): no other lock of reckit's uses it.
_KEY_LOCK_CLASS = 0x6A6F6273  # "jobs"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    subject: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    host: str | None = None  # where the work goes, for per-host bounds (NULL: none given)
    lease_until: int | None = None
    lease_owner: str | None = None
    lease_token: str | None = None
    key: str | None = None  # jobs of one key run one at a time, in order
    next_at: int = 0  # due from then (while pending)


_COLUMNS = (
    "id, kind, recording_id, payload, status, attempts, last_error, host, lease_until,"
    " lease_owner, lease_token, order_key, next_at"
)


def _job(row: Row) -> Job:
    return Job(
        row[0],
        row[1],
        row[2],
        orjson.loads(row[3]),
        row[4],
        int(row[5]),
        row[6],
        row[7],
        None if row[8] is None else int(row[8]),
        row[9],
        row[10],
        row[11],
        int(row[12]),
    )


def add(
    tx: Tx,
    kind: str,
    subject: str,
    payload: dict[str, Any],
    now_ms: int,
    *,
    host: str | None = None,
    key: str | None = None,
    due_ms: int | None = None,
) -> str:
    """Queue a job, due at ``due_ms`` (default: now), in the caller's transaction: it exists
    exactly when the change the caller writes beside it does. Its ID."""
    seq = None
    if key is not None:
        if tx.dialect == "postgres":
            tx.one(
                "SELECT pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(?))",
                (_KEY_LOCK_CLASS, key),
            )
        row = tx.one("SELECT max(order_seq) FROM jobs WHERE order_key = ?", (key,))
        seq = (int(row[0]) if row is not None and row[0] is not None else 0) + 1
    job_id = new_uuid()
    tx.run(
        "INSERT INTO jobs (id, kind, recording_id, payload, status, next_at, created_at,"
        " updated_at, host, order_key, order_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job_id,
            kind,
            subject,
            orjson.dumps(payload).decode(),
            PENDING,
            now_ms if due_ms is None else due_ms,
            now_ms,
            now_ms,
            host,
            key,
            seq,
        ),
    )
    return job_id


# A keyed job waits while an earlier job of its key is pending.
_FIRST_OF_ITS_KEY = (
    "(j.order_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs e WHERE e.order_key = j.order_key"
    " AND e.order_seq < j.order_seq AND e.status = 'pending'))"
)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def claim_due(
    tx: Tx,
    now_ms: int,
    lease_ms: int,
    limit: int,
    *,
    kinds: Collection[str] | None = None,
    owner: str | None = None,
    skip_hosts: Collection[str] = (),
    accept: Callable[[Job], bool] | None = None,
) -> list[Job]:
    """Up to ``limit`` due pending jobs (of ``kinds``, if given) nobody holds and no earlier
    job of their key holds back, leased to ``owner`` under a new token each (their attempt
    counted), oldest due first. Jobs whose host is in ``skip_hosts`` are not looked at;
    ``accept`` may turn down others (it sees them in order and keeps its own count). Jobs
    passed over stay pending, untouched."""
    if limit <= 0:
        return []
    skip = " FOR UPDATE SKIP LOCKED" if tx.dialect == "postgres" else ""
    where = [
        "j.status = 'pending'",
        "j.next_at <= ?",
        "(j.lease_until IS NULL OR j.lease_until <= ?)",
    ]
    params: list[Any] = [now_ms, now_ms]
    if kinds is not None:
        wanted = sorted(kinds)
        if not wanted:
            return []
        where.append(f"j.kind IN ({_marks(len(wanted))})")
        params += wanted
    hosts = sorted(skip_hosts)
    if hosts:
        where.append(f"(j.host IS NULL OR j.host NOT IN ({_marks(len(hosts))}))")
        params += hosts
    where.append(_FIRST_OF_ITS_KEY)
    # With a filter, look further than ``limit``: some of the first due jobs may be turned down.
    scan = limit if accept is None else max(64, limit * 16)
    columns = ", ".join("j." + c.strip() for c in _COLUMNS.split(","))
    rows = tx.all(
        f"SELECT {columns} FROM jobs j WHERE {' AND '.join(where)} ORDER BY j.next_at, j.id"
        f" LIMIT ?{skip}",
        (*params, scan),
    )
    chosen: list[Job] = []
    for row in rows:
        job = _job(row)
        if accept is None or accept(job):
            chosen.append(job)
            if len(chosen) == limit:
                break
    leased = [
        replace(
            j,
            attempts=j.attempts + 1,
            lease_until=now_ms + lease_ms,
            lease_owner=owner,
            lease_token=new_uuid(),
        )
        for j in chosen
    ]
    tx.many(
        "UPDATE jobs SET lease_until = ?, lease_owner = ?, lease_token = ?,"
        " attempts = attempts + 1, updated_at = ? WHERE id = ?",
        [(j.lease_until, j.lease_owner, j.lease_token, now_ms, j.id) for j in leased],
    )
    return leased


# Every outcome of an attempt is guarded: the job must still be leased under its token (None,
# the token of a job that was never claimed, holds nothing).
_UNLEASED = "lease_until = NULL, lease_owner = NULL, lease_token = NULL"


def succeed(tx: Tx, job_id: str, now_ms: int, token: str | None) -> bool:
    """Done; False (and nothing written) when ``token`` no longer holds the job."""
    return (
        tx.run(
            f"UPDATE jobs SET status = 'done', {_UNLEASED}, last_error = NULL, updated_at = ?"
            " WHERE id = ? AND lease_token = ?",
            (now_ms, job_id, token),
        )
        == 1
    )


def retry_at(tx: Tx, job_id: str, when_ms: int, error: str, now_ms: int, token: str | None) -> bool:
    """Pending again from ``when_ms``; False (and nothing written) when ``token`` no longer
    holds the job."""
    return (
        tx.run(
            f"UPDATE jobs SET next_at = ?, {_UNLEASED}, last_error = ?, updated_at = ?"
            " WHERE id = ? AND lease_token = ?",
            (when_ms, error, now_ms, job_id, token),
        )
        == 1
    )


def fail(tx: Tx, job_id: str, error: str, now_ms: int, token: str | None) -> bool:
    """Failed for good; False (and nothing written) when ``token`` no longer holds the job."""
    return (
        tx.run(
            f"UPDATE jobs SET status = 'failed', {_UNLEASED}, last_error = ?, updated_at = ?"
            " WHERE id = ? AND lease_token = ?",
            (error, now_ms, job_id, token),
        )
        == 1
    )


def retry_or_fail(
    tx: Tx,
    job: Job,
    error: str,
    now_ms: int,
    backoff: Backoff,
    *,
    retryable: bool = True,
    rng: random.Random | None = None,
) -> str | None:
    """After attempt ``job.attempts`` of ``job`` (as claimed) failed with ``error``: pending
    again once the backoff's wait has passed, or failed for good when the error is final or
    that was its last attempt. The job's status now (PENDING or FAILED); None, and nothing
    written, when its lease token no longer holds it."""
    delay = backoff.delay_ms(job.attempts, rng) if retryable else None
    if delay is not None:
        retried = retry_at(tx, job.id, now_ms + delay, error, now_ms, job.lease_token)
        return PENDING if retried else None
    return FAILED if fail(tx, job.id, error, now_ms, job.lease_token) else None


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
    attempts is alive. Their attempts stay counted (one may be what brought the node down).
    How many were released."""
    return tx.run(
        f"UPDATE jobs SET {_UNLEASED}, updated_at = ? WHERE lease_owner = ? AND status = 'pending'",
        (now_ms, owner),
    )


def cancel(tx: Tx, subject: str, kinds: Collection[str], now_ms: int) -> int:
    """Cancel the pending jobs of ``kinds`` about ``subject`` (a webhook disabled or deleted):
    never claimed again, and an attempt under way finds its lease token gone, so its result
    writes nothing. Jobs behind them on their keys may go. How many were cancelled."""
    wanted = sorted(kinds)
    if not wanted:
        return 0
    return tx.run(
        f"UPDATE jobs SET status = 'cancelled', {_UNLEASED}, updated_at = ?"
        f" WHERE recording_id = ? AND status = 'pending' AND kind IN ({_marks(len(wanted))})",
        (now_ms, subject, *wanted),
    )


def for_subject(tx: Tx, subject: str, kinds: Collection[str] | None = None) -> list[Job]:
    """The jobs about ``subject`` (of ``kinds``, if given), oldest first (ties: by ID)."""
    sql = f"SELECT {_COLUMNS} FROM jobs WHERE recording_id = ?"
    params: list[Any] = [subject]
    if kinds is not None:
        wanted = sorted(kinds)
        sql += f" AND kind IN ({_marks(len(wanted))})" if wanted else " AND 1 = 0"
        params += wanted
    rows = tx.all(sql + " ORDER BY created_at, id", params)
    return [_job(r) for r in rows]


def get(tx: Tx, job_id: str) -> Job | None:
    row = tx.one(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
    return _job(row) if row is not None else None
