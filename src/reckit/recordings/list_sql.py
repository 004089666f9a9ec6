"""What every path of the recordings list (``repository.list_page``) shares: the filter it
builds, the page read through an index (a deferred join), and exact counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reckit.db.engine import Row, Tx
from reckit.recordings.models import ListQuery

# The columns of a list row: the recording's ID and invoked time (its place in the list) and its
# list item, stored rendered (recordings/render.py ``list_item``; NULL where a node that
# predates them wrote the row: service.py renders it then).
LIST_COLUMNS = "r.id, r.invoked_time, r.listing"


@dataclass
class Filter:
    sql: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.sql.append(clause)
        self.params.extend(params)

    @property
    def where(self) -> str:
        return " AND ".join(self.sql)


def marks(n: int) -> str:
    return ", ".join("?" * n)


def recording_filter(app_id: str, q: ListQuery, now_ms: int) -> Filter:
    """Every filter but the meeting and the search (which ``by_meetings`` resolves)."""
    f = Filter(["r.app_id = ?"], [app_id])
    if q.statuses:
        f.add(f"r.status IN ({marks(len(q.statuses))})", *q.statuses)
    if q.start_ms is not None:
        f.add("r.invoked_time >= ?", q.start_ms)
    if q.end_ms is not None:
        f.add("r.invoked_time <= ?", q.end_ms)
    add_expiry(f, q.expired, now_ms)
    return f


def add_expiry(f: Filter, expired: bool | None, now_ms: int) -> None:
    if expired is True:
        f.add("r.download_url_expiry IS NOT NULL AND r.download_url_expiry <= ?", now_ms)
    elif expired is False:
        f.add("(r.download_url_expiry IS NULL OR r.download_url_expiry > ?)", now_ms)


def _page_rows(tx: Tx, keys: str, order: str) -> str:
    """The page's rows, joined to ``keys`` (a subquery of the page's row keys, ``k``). On
    SQLite the key is the rowid, which every index holds: the row is then one lookup, not one
    in the ID index and another in the table; and the rows are put in order here
    (``_in_order``), not by a sorter that copies every column of the page."""
    join = "r.rowid" if tx.dialect == "sqlite" else "r.id"
    rows = f"SELECT {LIST_COLUMNS} FROM ({keys}) p JOIN recordings r ON {join} = p.k"
    if tx.dialect == "sqlite":
        return rows
    return f"{rows} ORDER BY r.invoked_time {order}, r.id {order}"


# Where a list row (LIST_COLUMNS) holds the recording's ID and invoked time.
_ID, _INVOKED = 0, 1


def _in_order(tx: Tx, rows: list[Row], descending: bool) -> list[Row]:
    """``rows`` of ``_page_rows`` in the list's order: newest first (or oldest), ties by ID.
    SQLite compares text as its UTF-8 bytes, which is the order of Python's strings."""
    if tx.dialect != "sqlite":
        return rows
    return sorted(rows, key=lambda r: (r[_INVOKED], r[_ID]), reverse=descending)


def _key(tx: Tx) -> str:
    return "r.rowid AS k" if tx.dialect == "sqlite" else "r.id AS k"


def read_page(
    tx: Tx, f: Filter, descending: bool, limit: int, offset: int, index: str | None = None
) -> list[Row]:
    """The page's rows. Deferred join: walk an index for the keys, then fetch only the rows
    shown. ``index`` names the index SQLite must walk (PostgreSQL's planner chooses)."""
    order = "DESC" if descending else "ASC"
    hint = f" INDEXED BY {index}" if index is not None and tx.dialect == "sqlite" else ""
    keys = (
        f"SELECT {_key(tx)} FROM recordings r{hint} WHERE {f.where}"
        f" ORDER BY r.invoked_time {order}, r.id {order} LIMIT ? OFFSET ?"
    )
    return _in_order(
        tx, tx.all(_page_rows(tx, keys, order), [*f.params, limit, offset]), descending
    )


def read_page_of_statuses(
    tx: Tx, f: Filter, statuses: tuple[str, ...], descending: bool, limit: int, offset: int
) -> list[Row]:
    """``read_page`` for recordings in any of several ``statuses`` (``f`` without them): one
    walk of the status index per status, merged in order, so that a page costs about offset +
    limit index entries a status. Neither engine merges the ranges of an IN list in index
    order: it would walk the time index, stepping over every recording of the other statuses
    (a table row each, for its status), thousands of rows a page for rare statuses. SQLite
    merges a compound SELECT's arms for its ORDER BY; PostgreSQL merges them (Merge Append)
    once each arm has its own ORDER BY and LIMIT, and otherwise sorts every match."""
    order = "DESC" if descending else "ASC"
    arm = f"SELECT {_key(tx)}, r.invoked_time, r.id FROM recordings r{{hint}} WHERE {f.where}"
    arm += " AND r.status = ?"
    params: list[Any] = []
    if tx.dialect == "sqlite":
        arms = [arm.format(hint=" INDEXED BY recordings_by_status")] * len(statuses)
        for status in statuses:
            params += [*f.params, status]
    else:
        each = f"SELECT * FROM ({arm.format(hint='')}"
        each += f" ORDER BY r.invoked_time {order}, r.id {order} LIMIT ?) s"
        arms = [f"{each}{i}" for i in range(len(statuses))]
        for status in statuses:
            params += [*f.params, status, offset + limit]
    keys = (
        f"SELECT k FROM ({' UNION ALL '.join(arms)}"
        f" ORDER BY invoked_time {order}, id {order} LIMIT ? OFFSET ?) u"
    )
    rows = tx.all(_page_rows(tx, keys, order), [*params, limit, offset])
    return _in_order(tx, rows, descending)


def count_where(tx: Tx, f: Filter) -> int:
    row = tx.one(f"SELECT count(*) FROM recordings r WHERE {f.where}", f.params)
    return int(row[0]) if row else 0


def app_total(tx: Tx, app_id: str) -> int:
    row = tx.one(
        "SELECT CAST(sum(n) AS BIGINT) FROM recording_day_counts WHERE app_id = ?", (app_id,)
    )
    return int(row[0]) if row and row[0] is not None else 0
