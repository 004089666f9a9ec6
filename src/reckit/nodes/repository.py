"""All SQL of the node registry (the ``nodes`` table: migration 11)."""

from __future__ import annotations

from dataclasses import dataclass

from reckit.db.engine import Row, Tx

ROLES = ("api", "background", "recorder")


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    pid: int
    roles: tuple[str, ...]
    url: str | None
    recorder_capacity: int
    recorder_in_use: int
    started_at: int
    heartbeat_at: int
    stopped_at: int | None


_COLUMNS = (
    "id, hostname, pid, roles, url, recorder_capacity, recorder_in_use, started_at,"
    " heartbeat_at, stopped_at"
)


def _node(row: Row) -> Node:
    roles = tuple(r for r in str(row[3]).split(",") if r)
    return Node(
        str(row[0]),
        str(row[1]),
        int(row[2]),
        roles,
        row[4],
        int(row[5]),
        int(row[6]),
        int(row[7]),
        int(row[8]),
        None if row[9] is None else int(row[9]),
    )


def register(
    tx: Tx,
    node_id: str,
    *,
    hostname: str,
    pid: int,
    roles: tuple[str, ...],
    url: str | None,
    recorder_capacity: int,
    now_ms: int,
) -> None:
    """This node (re)started: its row, new or replaced, with nothing in use yet."""
    values = (
        node_id,
        hostname,
        pid,
        ",".join(roles),
        url,
        recorder_capacity,
        0,
        now_ms,
        now_ms,
        None,
    )
    tx.run(
        f"INSERT INTO nodes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid,"
        " roles = excluded.roles, url = excluded.url,"
        " recorder_capacity = excluded.recorder_capacity, recorder_in_use = 0,"
        " started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,"
        " stopped_at = NULL",
        values,
    )


def heartbeat(tx: Tx, node_id: str, recorder_in_use: int, now_ms: int) -> bool:
    """This node is alive, with so many recorder slots in use; False if it has no row."""
    return (
        tx.run(
            "UPDATE nodes SET heartbeat_at = ?, recorder_in_use = ?, stopped_at = NULL"
            " WHERE id = ?",
            (now_ms, recorder_in_use, node_id),
        )
        > 0
    )


def stopped(tx: Tx, node_id: str, now_ms: int) -> None:
    """This node stopped cleanly: nothing in use any more."""
    tx.run(
        "UPDATE nodes SET stopped_at = ?, heartbeat_at = ?, recorder_in_use = 0 WHERE id = ?",
        (now_ms, now_ms, node_id),
    )


def all_nodes(tx: Tx) -> list[Node]:
    """Every node that ever registered, the most recently alive first."""
    return [
        _node(r) for r in tx.all(f"SELECT {_COLUMNS} FROM nodes ORDER BY heartbeat_at DESC, id")
    ]


def forget_before(tx: Tx, before_ms: int) -> int:
    """Remove the nodes not heard from since ``before_ms``; how many."""
    return tx.run("DELETE FROM nodes WHERE heartbeat_at < ?", (before_ms,))


# The first half of the advisory locks that keep some work to one node at a time on
# PostgreSQL (the second names the work); jobs/repository.py's key locks use another.
_ONE_AT_A_TIME_CLASS = 0x6E6F6465  # "node"
SWEEP = 1


def try_one_at_a_time(tx: Tx, work: int) -> bool:
    """Whether this transaction may do ``work`` while no other node does: on PostgreSQL a
    try-lock held to the transaction's end (False: another node holds it now); on SQLite
    always True (a write transaction already excludes every other writer)."""
    if tx.dialect != "postgres":
        return True
    row = tx.one("SELECT pg_try_advisory_xact_lock(?, ?)", (_ONE_AT_A_TIME_CLASS, work))
    return bool(row and row[0])
