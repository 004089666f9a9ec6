"""The store-wide figures operators watch (``/readyz``, ``/metrics``): read-only SQL."""

from __future__ import annotations

from dataclasses import dataclass

from reckit.db.engine import Tx


def applied_migrations(tx: Tx) -> set[int]:
    """The schema versions applied to this store (an error before the first ``migrate``)."""
    return {int(r[0]) for r in tx.all("SELECT version FROM schema_version")}


def recordings_by_status(tx: Tx) -> dict[str, int]:
    """Recordings per status over every app, from the per-day counts kept beside them."""
    rows = tx.all("SELECT status, sum(n) FROM recording_day_counts GROUP BY status")
    return {str(r[0]): int(r[1] or 0) for r in rows}


@dataclass(frozen=True)
class JobFigures:
    kind: str
    status: str
    count: int
    attempts: int
    oldest_created_ms: int | None  # the oldest job's ``created_at``


def jobs_by_kind_and_status(tx: Tx) -> list[JobFigures]:
    """Per kind of job (``deliver``, ``webhook``) and status (pending, done, failed,
    cancelled): how many, their attempts, and when the oldest was added."""
    rows = tx.all(
        "SELECT kind, status, count(*), sum(attempts), min(created_at) FROM jobs"
        " GROUP BY kind, status"
    )
    return [
        JobFigures(
            str(r[0]), str(r[1]), int(r[2]), int(r[3] or 0), None if r[4] is None else int(r[4])
        )
        for r in rows
    ]


def waiting_for_a_recorder(tx: Tx) -> tuple[int, int | None]:
    """Recordings started through the API that no recorder has claimed yet: how many, and the
    ``invoked_time`` of the oldest (the live-recordings index answers it)."""
    row = tx.one(
        "SELECT count(*), min(invoked_time) FROM recordings"
        " WHERE status = 'INVOKED' AND recorder_id IS NULL AND config IS NOT NULL"
    )
    if row is None:
        return 0, None
    return int(row[0]), None if row[1] is None else int(row[1])
