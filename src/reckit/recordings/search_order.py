"""A broad search's recordings in list order, kept beside its matching meetings (the search
cache of ``list_meetings.py``, with the app's meetings version): every page of the search is then a
slice of two arrays and a read of that page's rows by rowid, instead of merging the recordings
of every meeting that can reach the page (a thousand meetings and more for a broad title word
at page 40). Sixteen bytes a recording: 2.6 MB for "review" at 1M recordings (164,257 of them).

SQLite only: there a rowid is the row's address, and it stays with the row (reckit never runs
SQLite's VACUUM, which could renumber them; a page whose rows do not come back as expected is
answered the usual way instead, see ``page``). PostgreSQL keeps the
merge, in its planner's hands."""

from __future__ import annotations

import bisect
from array import array

from reckit.db.engine import Row, Tx
from reckit.recordings.list_sql import LIST_COLUMNS, marks

# A page whose edges fall in longer runs of equal invoked times (a bulk import's shared
# timestamp, say) is read the usual way: its rowids would not fit one statement.
MAX_ROWIDS = 1_000


class SearchOrder:
    """The recordings' invoked times in ascending order, and their rowids in the same order."""

    __slots__ = ("rowids", "times")

    def __init__(self, times: array[int], rowids: array[int]) -> None:
        self.times = times
        self.rowids = rowids


def build(tx: Tx, app_id: str, meetings_json: str) -> SearchOrder:
    """The order of the recordings of the meetings in ``meetings_json`` (a JSON array of IDs),
    read from the meeting index alone (it holds the time, and every index holds the rowid)."""
    rows = tx.all(
        "SELECT r.invoked_time, r.rowid FROM recordings r INDEXED BY recordings_by_meeting"
        " WHERE r.app_id = ? AND r.meeting_id IN (SELECT value FROM json_each(?))"
        " ORDER BY r.invoked_time",
        (app_id, meetings_json),
    )
    return SearchOrder(array("q", (r[0] for r in rows)), array("q", (r[1] for r in rows)))


def page(tx: Tx, order: SearchOrder, descending: bool, limit: int, offset: int) -> list[Row] | None:
    """The rows at ``offset`` in the list's order (invoked time, then ID: both descending or
    both ascending), or None when the store no longer matches the order (or the page's rows
    are too many to name, ``MAX_ROWIDS``)."""
    times, n = order.times, len(order.times)
    # Positions [a, b) of the page in the ascending arrays.
    a, b = (n - offset - limit, n - offset) if descending else (offset, offset + limit)
    a, b = max(a, 0), min(b, n)
    if a >= b:
        return []
    # The arrays break ties of invoked time by rowid, the list by ID: read the whole run of
    # equal times at each edge of the page, let the store order them by ID, and skip the
    # ones before the page.
    first, last = times[a], times[b - 1]
    wide_a, wide_b = bisect.bisect_left(times, first), bisect.bisect_right(times, last)
    if wide_b - wide_a > MAX_ROWIDS:
        return None
    skip = wide_b - b if descending else a - wide_a
    rowids = order.rowids[wide_a:wide_b]
    direction = "DESC" if descending else "ASC"
    rows = tx.all(
        f"SELECT {LIST_COLUMNS}, r.invoked_time FROM recordings r"
        f" WHERE r.rowid IN ({marks(len(rowids))})"
        f" ORDER BY r.invoked_time {direction}, r.id {direction} LIMIT ? OFFSET ?",
        [*rowids, b - a, skip],
    )
    if len(rows) != b - a or any(not first <= row[-1] <= last for row in rows):
        return None
    return [row[:-1] for row in rows]
