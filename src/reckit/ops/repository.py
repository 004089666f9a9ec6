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


def _waiting(r: str) -> str:
    """A recording (table alias ``r``) waits for a recorder when it was started through the API
    (its capture ``config``), is INVOKED, and no recorder holds it: the recorders' claim queue,
    oldest first."""
    return f"{r}.status = 'INVOKED' AND {r}.recorder_id IS NULL AND {r}.config IS NOT NULL"


def waiting_for_a_recorder(tx: Tx) -> tuple[int, int | None]:
    """Recordings started through the API that no recorder has claimed yet: how many, and the
    ``invoked_time`` of the oldest (the live-recordings index answers it)."""
    row = tx.one(f"SELECT count(*), min(r.invoked_time) FROM recordings r WHERE {_waiting('r')}")
    if row is None:
        return 0, None
    return int(row[0]), None if row[1] is None else int(row[1])


def waiting_ahead_of(tx: Tx, invoked_time: int) -> int:
    """How many waiting recordings (of every app) were started before ``invoked_time``: the
    recorders claim them first."""
    row = tx.one(
        f"SELECT count(*) FROM recordings o WHERE {_waiting('o')} AND o.invoked_time < ?",
        (invoked_time,),
    )
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Waiting:
    id: str
    invoked_time: int
    config: str
    ahead: int  # waiting recordings of every app started before it


def waiting_in_app(tx: Tx, app_id: str, limit: int) -> list[Waiting]:
    """The app's oldest ``limit`` waiting recordings, each with how many wait ahead of it."""
    rows = tx.all(
        "SELECT r.id, r.invoked_time, r.config,"
        f" (SELECT count(*) FROM recordings o WHERE {_waiting('o')}"
        "  AND o.invoked_time < r.invoked_time)"
        f" FROM recordings r WHERE r.app_id = ? AND {_waiting('r')}"
        " ORDER BY r.invoked_time, r.id LIMIT ?",
        (app_id, limit),
    )
    return [Waiting(str(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]


def waiting_count_in_app(tx: Tx, app_id: str) -> int:
    """How many of the app's recordings wait for a recorder."""
    row = tx.one(
        f"SELECT count(*) FROM recordings r WHERE r.app_id = ? AND {_waiting('r')}", (app_id,)
    )
    return int(row[0]) if row else 0
