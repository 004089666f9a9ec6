"""The list filtered only on status and a time window, from the day counts
(``recording_day_counts``): the total is the sum of whole days plus exact counts of the (at most
two) partial days at the window's edges; a deep page is found by walking the day counts to the
day where the offset lands, and reading from there with an offset smaller than one day's
recordings. The whole days' counts are kept per process with the app's data version they were
read at (``cached_days``): while nothing changes, a deep page or a total reads no counts again.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Any, TypeAlias

from cachetools import LRUCache

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.recordings.list_sql import (
    Filter,
    add_expiry,
    count_where,
    marks,
    read_page,
    read_page_of_statuses,
    recording_filter,
)
from reckit.recordings.models import ListQuery
from reckit.timestamps import DAY_MS

# Below this offset a page skips its rows in the index directly; past it, the day counts first
# say on which day the page begins (a day holds a small share of the recordings).
_DIRECT_OFFSET = 2_000


@dataclass(frozen=True)
class _Days:
    """The window in whole days from the counts, plus exact counts of its partial edge days."""

    first: int | None  # whole days from..to (inclusive; None = open)
    last: int | None
    edges: dict[int, int]  # partial day -> exact count of matching recordings in it


def day_filter(app_id: str, q: ListQuery, first_day: int | None, last_day: int | None) -> Filter:
    f = Filter(["app_id = ?"], [app_id])
    if q.statuses:
        f.add(f"status IN ({marks(len(q.statuses))})", *q.statuses)
    if first_day is not None:
        f.add("day >= ?", first_day)
    if last_day is not None:
        f.add("day <= ?", last_day)
    return f


def window_days(tx: Tx, app_id: str, q: ListQuery, now_ms: int = 0) -> _Days:
    """The edge days' counts apply ``q.expired`` at ``now_ms`` too."""
    lo = q.start_ms // DAY_MS if q.start_ms is not None else None
    hi = q.end_ms // DAY_MS if q.end_ms is not None else None
    partial: set[int] = set()
    if q.start_ms is not None and lo is not None and q.start_ms != lo * DAY_MS:
        partial.add(lo)
    if q.end_ms is not None and hi is not None and q.end_ms != (hi + 1) * DAY_MS - 1:
        partial.add(hi)
    edges: dict[int, int] = {}
    for day in partial:
        start, end = day * DAY_MS, (day + 1) * DAY_MS - 1
        first = start if q.start_ms is None else max(start, q.start_ms)
        last = end if q.end_ms is None else min(end, q.end_ms)
        if first > last:
            edges[day] = 0
        elif q.expired is None and (first == start or last == end) and last - first > DAY_MS // 2:
            # Most of the day: its count less the part outside the window, which is shorter
            # to count.
            outside = (last + 1, end) if first == start else (start, first - 1)
            edges[day] = _day_count(tx, app_id, q, day) - _count_between(tx, app_id, q, *outside)
        else:
            edges[day] = _count_between(tx, app_id, q, first, last, now_ms)
    first_day = None if lo is None else lo + 1 if lo in partial else lo
    last_day = None if hi is None else hi - 1 if hi in partial else hi
    return _Days(first_day, last_day, edges)


def _count_between(
    tx: Tx, app_id: str, q: ListQuery, first: int, last: int, now_ms: int = 0
) -> int:
    """How many recordings match ``q``'s statuses and ``expired`` (at ``now_ms``) with
    ``first <= invoked_time <= last``: an index range, counted."""
    f = Filter(["r.app_id = ?"], [app_id])
    if q.statuses:
        f.add(f"r.status IN ({marks(len(q.statuses))})", *q.statuses)
    f.add("r.invoked_time >= ? AND r.invoked_time <= ?", first, last)
    add_expiry(f, q.expired, now_ms)
    return count_where(tx, f)


def _day_count(tx: Tx, app_id: str, q: ListQuery, day: int) -> int:
    """How many recordings of ``q``'s statuses were invoked on ``day``, from the day counts."""
    f = day_filter(app_id, q, day, day)
    row = tx.one(
        f"SELECT CAST(sum(n) AS BIGINT) FROM recording_day_counts WHERE {f.where}", f.params
    )
    return int(row[0]) if row and row[0] is not None else 0


def by_days(tx: Tx, app_id: str, q: ListQuery) -> tuple[int, list[Row]]:
    days = window_days(tx, app_id, q)
    whole = whole_days(tx, app_id, day_filter(app_id, q, days.first, days.last))
    total = sum(whole[1]) + sum(days.edges.values())
    if q.per_page == 0 or q.offset >= total:
        return total, []
    # No expiry filter on this path: the clock is unused.
    f = page_filter(app_id, q, 0)
    offset = q.offset
    if offset >= _DIRECT_OFFSET or several_statuses(q):
        day, skipped = landing_day(whole, days.edges, q.descending, offset)
        if skipped:
            from_day(f, day, q.descending)
        offset -= skipped
    return total, read_filtered(tx, f, q, offset)


def from_day(f: Filter, day: int, descending: bool) -> None:
    """Start reading at the boundary of ``day``, where the page begins: its end, newest first,
    or its start, oldest first."""
    if descending:
        f.add("r.invoked_time <= ?", (day + 1) * DAY_MS - 1)
    else:
        f.add("r.invoked_time >= ?", day * DAY_MS)


def several_statuses(q: ListQuery) -> bool:
    """Whether ``q`` has more than one status (read by ``read_page_of_statuses``)."""
    return q.statuses is not None and len(q.statuses) > 1


def page_filter(app_id: str, q: ListQuery, now_ms: int) -> Filter:
    """``recording_filter`` for a page that ``read_filtered`` reads: without the statuses when
    there are several (it reads them one by one)."""
    return recording_filter(app_id, replace(q, statuses=None) if several_statuses(q) else q, now_ms)


def read_filtered(tx: Tx, f: Filter, q: ListQuery, offset: int) -> list[Row]:
    """The page at ``offset`` of ``f`` (without the statuses when ``q`` has several)."""
    if q.statuses is not None and several_statuses(q):
        return read_page_of_statuses(tx, f, q.statuses, q.descending, q.per_page, offset)
    return read_page(tx, f, q.descending, q.per_page, offset)


# The whole days' counts of a list request (app, statuses, day range), per day in order, kept
# with the app's data version they were read at (as list_meetings.py keeps a search): a deep
# page then finds its day, and any page its total, without reading the counts again. Bounded
# by days held (16 bytes each: 1.6 MB at most); each process keeps its own.
_DAY_CACHE_DAYS = 100_000
DayList: TypeAlias = "tuple[array[int], array[int]]"
_day_lists: LRUCache[tuple[str, str, tuple[Any, ...]], tuple[int, DayList]] = LRUCache(
    maxsize=_DAY_CACHE_DAYS, getsizeof=lambda entry: len(entry[1][0]) + 1
)
_day_lists_lock = threading.Lock()


def whole_days(tx: Tx, app_id: str, whole: Filter) -> DayList:
    """(days in ascending order, how many matching recordings each) for ``whole``."""
    return cached_days(
        tx,
        app_id,
        "SELECT day, CAST(sum(n) AS BIGINT) FROM recording_day_counts"
        f" WHERE {whole.where} GROUP BY day ORDER BY day",
        whole.params,
    )


def cached_days(tx: Tx, app_id: str, sql: str, params: list[Any]) -> DayList:
    """The (day, n) rows of ``sql`` (in ascending order of day) as two arrays, from the cache
    above while the app's data version is the one they were read at."""
    owner = apps.owner_and_version(tx, app_id)  # in this transaction's snapshot
    version = owner[1] if owner is not None else -1
    key = (tx.store, sql, tuple(params))
    with _day_lists_lock:
        cached = _day_lists.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = tx.all(sql, params)
    found = (array("q", (int(r[0]) for r in rows)), array("q", (int(r[1]) for r in rows)))
    if len(rows) <= _DAY_CACHE_DAYS // 4:
        with _day_lists_lock:
            _day_lists[key] = (version, found)
    return found


# Running sums of a cached day list's counts (newest first or oldest first), made once per list:
# (the counts they were made from, the sums), by the counts' identity. Cleared whole past
# _SUMS_KEPT; holding the counts keeps their identity from being reused meanwhile.
_SUMS_KEPT = 64
_sums: dict[tuple[int, bool], tuple[array[int], list[int]]] = {}


def running_sums(counts: array[int], descending: bool) -> list[int]:
    """The running sums of ``counts``, from its end when ``descending``; made once for a
    list that is kept (cached day counts)."""
    key = (id(counts), descending)
    kept = _sums.get(key)
    if kept is not None and kept[0] is counts:
        return kept[1]
    sums = list(accumulate(counts[::-1] if descending else counts))
    if len(_sums) >= _SUMS_KEPT:
        _sums.clear()
    _sums[key] = (counts, sums)
    return sums


def landing_day(
    whole: DayList, edges: dict[int, int], descending: bool, offset: int
) -> tuple[int, int]:
    """(the day on which the recording at ``offset`` lies, how many matching recordings come
    before that day in the list's order): a running sum over the days. The edge days lie
    outside the whole days' range (``window_days``); the whole days are found by bisecting their
    running sums (a deep page of an unfiltered list steps over hundreds of days)."""
    days, counts = whole
    below = sorted(d for d in edges if not days or d < days[0])
    above = sorted(d for d in edges if days and d > days[-1])
    head, tail = (above[::-1], below[::-1]) if descending else (below, above)
    before = 0
    for day in head:
        if before + edges[day] > offset:
            return day, before
        before += edges[day]
    if days:
        sums = running_sums(counts, descending)
        i = bisect.bisect_right(sums, offset - before)
        if i < len(sums):
            return days[len(days) - 1 - i if descending else i], before + (sums[i - 1] if i else 0)
        before += sums[-1]
    for day in tail:
        if before + edges[day] > offset:
            return day, before
        before += edges[day]
    return 0, 0  # the counts and the total disagree: cannot happen, but never lose rows
