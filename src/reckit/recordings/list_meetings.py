"""The list filtered on a meeting and/or a search, from the meetings' counts
(``meetings.recording_count``, ``first_invoked_time``, ``last_invoked_time``): the matching
meetings are resolved first (a search once, through the title's trigram index, then kept per
process with the app's meetings version); with no other filter the total is the sum of their
counts, and only the meetings whose first/last times can reach the page are read; the page
comes either from those meetings' recordings (few of them) or from walking the time index and
keeping theirs (many of them), whichever reads fewer rows, or, for a broad search on SQLite,
from the search's recordings kept in list order (``search_order.py``)."""

from __future__ import annotations

import bisect
import re
import threading
from array import array
from typing import Any

import orjson
from cachetools import LRUCache

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.recordings.list_sql import (
    Filter,
    app_total,
    count_where,
    marks,
    read_page,
    recording_filter,
)
from reckit.recordings.models import ListQuery
from reckit.recordings.search_order import SearchOrder
from reckit.recordings.search_order import build as build_order
from reckit.recordings.search_order import page as order_page

# A meeting ID or a prefix of one: lowercase hex and dashes (decisions.md: IDs are lowercase).
_ID_PREFIX = re.compile(r"^[0-9a-f-]+\Z")
# Up to this many meetings go into the SQL as parameters; more go as one array.
_INLINE_MEETINGS = 64
# A page from the matching meetings' own recordings costs about one row per recording they
# have; walking the time index costs about this many times the rows it steps over (each needs
# the table row, for its meeting). Up to _GATHER_ALWAYS recordings, gathering is cheap anyway.
_WALK_COST = 3
_GATHER_ALWAYS = 5_000
# A kept search whose page would merge the recordings of more meetings than this is read from
# the search's order (search_order.py) instead, on SQLite.
_ORDER_FROM = 64


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A meeting with recordings: (id, how many, invoked_time of its first, of its last).
_Meeting = tuple[str, int, int, int]


class _Resolved:
    """A filter's matching meetings, compactly (about 130 bytes each: the ID and 8-byte
    numbers), with what every page of it needs and would otherwise compute again per request:
    their recordings in all, and their order by last (first) invoked time, for
    ``_reaching``."""

    __slots__ = (
        "_by_first",
        "_by_last",
        "_ids_json",
        "counts",
        "firsts",
        "ids",
        "lasts",
        "order",
        "recordings",
    )

    def __init__(self, meetings: list[_Meeting]) -> None:
        self.ids = [m[0] for m in meetings]
        self.counts = array("q", (m[1] for m in meetings))
        self.firsts = array("q", (m[2] for m in meetings))
        self.lasts = array("q", (m[3] for m in meetings))
        self.recordings = sum(self.counts)
        self._by_last: tuple[array[int], array[int]] | None = None
        self._by_first: tuple[array[int], array[int]] | None = None
        self._ids_json: str | None = None
        # Their recordings in list order, once a deep page of a broad search needs it.
        self.order: SearchOrder | None = None

    def same_recordings(self, other: _Resolved) -> bool:
        """Whether ``other`` has the same recordings: the same meetings with as many each,
        from the same first to the same last. A new recording is the latest of its meeting,
        and a deleted one changes its meeting's count."""
        return (
            self.ids == other.ids
            and self.counts == other.counts
            and self.firsts == other.firsts
            and self.lasts == other.lasts
        )

    def ids_json(self) -> str:
        if self._ids_json is None:
            self._ids_json = orjson.dumps(self.ids).decode()
        return self._ids_json

    def by_last(self) -> tuple[array[int], array[int]]:
        """The meetings' positions, latest last invoked time first, and those times negated
        (ascending, for bisect)."""
        if self._by_last is None:
            lasts = self.lasts
            order = sorted(range(len(lasts)), key=lasts.__getitem__, reverse=True)
            self._by_last = array("l", order), array("q", (-lasts[i] for i in order))
        return self._by_last

    def by_first(self) -> tuple[array[int], array[int]]:
        """The meetings' positions, earliest first invoked time first, and those times."""
        if self._by_first is None:
            firsts = self.firsts
            order = sorted(range(len(firsts)), key=firsts.__getitem__)
            self._by_first = array("l", order), array("q", (firsts[i] for i in order))
        return self._by_first


# A search's matching meetings, per app, search text and meeting filter, kept with the app's
# meetings version they were read at (every write that changes a meeting bumps it, a new
# recording included, in its own transaction; a status change does not: apps/repository.touch):
# clients page through one search's results while recordings change status, and
# resolving a broad word reads thousands of meetings (20,559 for "review" at 1M recordings).
# Bounded by bytes, about: a meeting weighs 200 (its ID, three numbers, two orderings and its
# share of the IDs' JSON, measured with tracemalloc), a recording in a search's order 16
# (search_order.py, on SQLite, once a page needs it). 64 MiB holds a dashboard's few dozen
# words at once at 1M recordings (the 15 words of bench/http_mix.py take about 30 MB), and one
# broad word's meetings at 10M ("review": 205,000 meetings, 40 MB); one search may take it all.
# Each process keeps its own.
_SEARCH_CACHE_BYTES = 64 * 2**20
_MEETING_BYTES = 200
_ORDER_BYTES = 16
_searches: LRUCache[tuple[str, str, str, str | None], tuple[int, _Resolved]] = LRUCache(
    maxsize=_SEARCH_CACHE_BYTES, getsizeof=lambda entry: _weight(entry[1])
)
_searches_lock = threading.Lock()


def _meetings(tx: Tx, app_id: str, q: ListQuery) -> _Resolved:
    """``_read_meetings``, for a search through the cache above."""
    if q.search is None:
        return _Resolved(_read_meetings(tx, app_id, q))
    version = apps.meetings_version(tx, app_id)  # in this transaction's snapshot
    if version is None:
        return _Resolved([])
    key = (tx.store, app_id, q.search.lower(), q.meeting_id)
    with _searches_lock:
        cached = _searches.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    found = _Resolved(_read_meetings(tx, app_id, q))
    if cached is not None and cached[1].order is not None and found.same_recordings(cached[1]):
        # Only statuses or other fields changed: the search's recordings, in order, did not.
        found.order = cached[1].order
    if _kept(found):
        with _searches_lock:
            _searches[key] = (version, found)
    return found


def _weight(resolved: _Resolved, with_order: bool = False) -> int:
    ordered = with_order or resolved.order is not None
    order = _ORDER_BYTES * resolved.recordings if ordered else 0
    return _MEETING_BYTES * len(resolved.ids) + order + 1


def _kept(resolved: _Resolved, with_order: bool = False) -> bool:
    """Whether the cache keeps this search (with its order)."""
    return _weight(resolved, with_order) <= _SEARCH_CACHE_BYTES


def _keep_order(tx: Tx, app_id: str, q: ListQuery, resolved: _Resolved) -> SearchOrder:
    """The search's order, read and weighed into the cache with it."""
    order = build_order(tx, app_id, resolved.ids_json())
    resolved.order = order
    assert q.search is not None
    key = (tx.store, app_id, q.search.lower(), q.meeting_id)
    with _searches_lock:
        entry = _searches.get(key)
        if entry is not None and entry[1] is resolved:
            _searches[key] = entry  # weighed again, with the order
    return order


def _read_meetings(tx: Tx, app_id: str, q: ListQuery) -> list[_Meeting]:
    """The app's meetings that have recordings and match the meeting and search filters.
    Search (decisions.md): a case-insensitive substring of the title, or the meeting ID (whole,
    or a prefix of at least 8 characters)."""
    only = ""
    only_params: list[Any] = []
    if q.meeting_id is not None:
        only, only_params = " AND m.id = ?", [q.meeting_id]
    base = (
        "SELECT m.id, m.recording_count, m.first_invoked_time, m.last_invoked_time"
        " FROM meetings m WHERE m.recording_count > 0 AND m.app_id = ?"
    )
    if q.search is None:
        sql, params = base + only, [app_id, *only_params]
    else:
        needle = q.search.lower()
        by_id = len(needle) >= 8 and _ID_PREFIX.match(needle) is not None
        if tx.dialect == "sqlite":
            if len(needle) >= 3:
                # The trigram index answers substring queries of three characters or more.
                title = "m.seq IN (SELECT rowid FROM meetings_title WHERE meetings_title MATCH ?)"
                title_param = '"' + needle.replace('"', '""') + '"'
            else:  # 1-2 characters: scan the app's titles
                title = "lower(m.title) LIKE ? ESCAPE '\\'"
                title_param = "%" + _like_escape(needle) + "%"
            sql = f"{base} AND {title}{only}"
            params = [app_id, title_param, *only_params]
            if by_id:
                # IDs are stored lowercase, so a prefix is a range of the (app_id, id) index.
                sql += f" UNION {base} AND m.id >= ? AND m.id < ?{only}"
                params += [app_id, needle, needle[:-1] + chr(ord(needle[-1]) + 1), *only_params]
        else:
            # PostgreSQL: the pg_trgm index on lower(title) serves this LIKE.
            options = "lower(m.title) LIKE ? ESCAPE '\\'"
            params = [app_id, "%" + _like_escape(needle) + "%"]
            if by_id:
                options += " OR m.id LIKE ? ESCAPE '\\'"
                params.append(_like_escape(needle) + "%")
            sql = f"{base} AND ({options}){only}"
            params += only_params
    return [(str(m[0]), int(m[1]), int(m[2]), int(m[3])) for m in tx.all(sql, params)]


def _in_meetings(
    tx: Tx, ids: list[str], resolved: _Resolved | None = None
) -> tuple[str, list[Any]]:
    """The clause for recordings of the meetings ``ids`` (all of ``resolved``'s, if given)."""
    if len(ids) == 1:
        return "r.meeting_id = ?", ids
    if tx.dialect == "postgres":
        return "r.meeting_id = ANY(?)", [ids]
    if len(ids) <= _INLINE_MEETINGS:
        return f"r.meeting_id IN ({marks(len(ids))})", ids
    encoded = resolved.ids_json() if resolved is not None else orjson.dumps(ids).decode()
    return "r.meeting_id IN (SELECT value FROM json_each(?))", [encoded]


def _reaching(resolved: _Resolved, k: int, descending: bool) -> tuple[list[int], int | None]:
    """The positions (in ``resolved``) of the meetings that can hold any of the first k
    recordings in the list's order, when every recording of every meeting matches, and the
    bound on those recordings' invoked times (None: no bound, every meeting). Each meeting has
    a recording at its last (first) invoked time, so the k-th recording is no older (newer)
    than the k-th latest last (earliest first): a meeting whose last (first) is strictly older
    (newer) than that has none of them, and nor does any recording older (newer) than it."""
    if len(resolved.ids) <= k:
        return list(range(len(resolved.ids))), None
    if descending:
        order, negated = resolved.by_last()
        bound = -negated[k - 1]
        return order[: bisect.bisect_right(negated, -bound)].tolist(), bound
    order, times = resolved.by_first()
    bound = times[k - 1]
    return order[: bisect.bisect_right(times, bound)].tolist(), bound


def by_meetings(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    resolved = _meetings(tx, app_id, q)
    recordings = resolved.recordings
    if recordings == 0:
        return 0, []
    f = recording_filter(app_id, q, now_ms)
    only_meetings = len(f.sql) == 1  # no status, window or expiry filter
    if only_meetings:
        total = recordings
    else:
        counted = Filter(list(f.sql), list(f.params))
        clause, params = _in_meetings(tx, resolved.ids, resolved)
        counted.add(clause, *params)
        total = count_where(tx, counted)
    if q.per_page == 0 or q.offset >= total:
        return total, []
    k = q.offset + q.per_page
    page_meetings, bound = _reaching(resolved, k, q.descending) if only_meetings else ([], None)
    merged = len(resolved.ids) if bound is None else len(page_meetings)
    if (
        only_meetings
        and merged > _ORDER_FROM
        and q.search is not None
        and tx.dialect == "sqlite"
        and _kept(resolved, with_order=True)
    ):
        # A broad search, kept in the cache above, whose page would merge many meetings'
        # recordings: the page is a slice of the search's order instead.
        order = resolved.order or _keep_order(tx, app_id, q, resolved)
        rows = order_page(tx, order, q.descending, q.per_page, q.offset)
        if rows is not None:
            return total, rows
        resolved.order = None  # the store no longer matches it: the usual way, below
    if bound is not None:  # the page's recordings are no older (newer) than this
        f.add("r.invoked_time >= ?" if q.descending else "r.invoked_time <= ?", bound)
    every = bound is None  # the page may hold any of the meetings
    counts = resolved.counts
    gathered = recordings if every else sum(counts[i] for i in page_meetings)
    index = "recordings_by_meeting"
    if ((every and len(counts) > 1) or len(page_meetings) > 1) and gathered > _GATHER_ALWAYS:
        # Many recordings to sort: walking the time index may find the page sooner.
        walked = k * app_total(tx, app_id) / total
        if _WALK_COST * walked < gathered:
            index, every = "recordings_by_time", True
    if every:
        clause, params = _in_meetings(tx, resolved.ids, resolved)
    else:
        clause, params = _in_meetings(tx, [resolved.ids[i] for i in page_meetings])
    f.add(clause, *params)
    return total, read_page(tx, f, q.descending, q.per_page, q.offset, index)
