"""SQL of the recordings catalogue: inserts (one, or a bulk load) and the list, which reads the
counts kept beside the recordings (counts.py keeps them in step, and is their only writer):
- ``recording_day_counts``: per app, day of ``invoked_time`` and status, how many recordings;
- ``recording_expiry_counts``: per app and day of ``download_url_expiry``, how many recordings;
- ``meetings.recording_count``, ``first_invoked_time`` and ``last_invoked_time``.

A list request is answered along one of four paths:
- filters only on status and a time window: the total is the sum of whole days from the day
  counts plus exact counts of the (at most two) partial days at the window's edges; a deep page
  is found by walking the day counts to the day where the offset lands, and reading from there
  with an offset smaller than one day's recordings;
- a meeting and/or a search: the matching meetings are resolved first (a search once, through
  the title's trigram index); with no other filter the total is the sum of their counts, and
  only the meetings whose first/last times can reach the page are read; the page comes either
  from those meetings' recordings (few of them) or from walking the time index and keeping
  theirs (many of them), whichever reads fewer rows;
- expiry alone: the total from ``recording_expiry_counts`` (whole days before today) plus an
  exact count of today's part, and the page from the time index;
- expiry with a status and/or a time window: per day of ``invoked_time``, the recordings that
  expired before today from ``recording_expiry_status_counts`` (whole days of the window),
  plus exact counts of those expiring today up to the present (the expiry index) and of the
  window's partial edge days; ``expired=false`` is the day counts minus those. The page starts
  on the day where the offset lands, as on the day-count path.

The whole days' counts a request reads and a search's matching meetings are kept per process
with the app's data version they were read at (``_cached_days``, ``_meetings``): while nothing
changes, a deep page, a total or the next page of a search reads no counts again.
"""

from __future__ import annotations

import bisect
import re
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, TypeAlias

import orjson
from cachetools import LRUCache

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.recordings import counts
from reckit.recordings.models import ListQuery, NewRecording
from reckit.timestamps import DAY_MS

LIST_COLUMNS = (
    "r.id, r.audio_download_url, r.download_url, r.download_url_expiry, r.file_size,"
    " r.invoked_time, r.output_file_name, r.session_id, r.started_time, r.status,"
    " r.stopped_time, r.recording_duration, r.storage_config,"
    " CASE WHEN r.kind = 'track' THEN r.files END,"
    " m.id, m.created_at, m.updated_at, m.title, m.status, m.record_on_start,"
    " m.live_stream_on_start, m.persist_chat, m.session_keep_alive_time_in_secs,"
    " m.summarize_on_end"
)

# The stored columns, in the order of the value tuples that insert_rows_without_counts takes.
COLUMNS = (
    "id",
    "app_id",
    "meeting_id",
    "kind",
    "status",
    "invoked_time",
    "started_time",
    "stopped_time",
    "session_id",
    "output_file_name",
    "file_size",
    "recording_duration",
    "download_url",
    "audio_download_url",
    "download_url_expiry",
    "storage_config",
    "start_reason",
    "stop_reason",
)


def _values(r: NewRecording) -> tuple[Any, ...]:
    return (
        r.id,
        r.app_id,
        r.meeting_id,
        r.kind,
        r.status,
        r.invoked_time,
        r.started_time,
        r.stopped_time,
        r.session_id,
        r.output_file_name,
        r.file_size,
        r.recording_duration,
        r.download_url,
        r.audio_download_url,
        r.download_url_expiry,
        r.storage_config,
        r.start_reason,
        r.stop_reason,
    )


# insert() also writes the lifecycle columns, which a bulk load leaves at their defaults.
_LIFECYCLE_COLUMNS = ("config", "allow_multiple", "request_key", "user_ids", "max_seconds")
_INSERT_ONE = (
    f"INSERT INTO recordings ({', '.join(COLUMNS + _LIFECYCLE_COLUMNS)})"
    f" VALUES ({', '.join('?' * (len(COLUMNS) + len(_LIFECYCLE_COLUMNS)))})"
)


def insert(tx: Tx, r: NewRecording) -> None:
    lifecycle = (r.config, r.allow_multiple, r.request_key, r.user_ids, r.max_seconds)
    tx.run(_INSERT_ONE, _values(r) + lifecycle)
    counts.added(tx, r)
    apps.touch(tx, r.app_id)


def insert_rows_without_counts(tx: Tx, rows: Sequence[Row]) -> None:
    """Bulk load of value tuples in ``COLUMNS`` order; the caller must call ``counts.rebuild``
    for each app before committing."""
    tx.bulk_insert("recordings", COLUMNS, rows)


def fewer_than(tx: Tx, n: int) -> bool:
    """Whether the store holds fewer than n recordings (in all apps), reading at most n."""
    row = tx.one("SELECT count(*) FROM (SELECT 1 FROM recordings LIMIT ?) AS x", (n,))
    return row is not None and int(row[0]) < n


@dataclass
class _Filter:
    sql: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.sql.append(clause)
        self.params.extend(params)

    @property
    def where(self) -> str:
        return " AND ".join(self.sql)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _recording_filter(app_id: str, q: ListQuery, now_ms: int) -> _Filter:
    """Every filter but the meeting and the search (which ``_by_meetings`` resolves)."""
    f = _Filter(["r.app_id = ?"], [app_id])
    if q.statuses:
        f.add(f"r.status IN ({_marks(len(q.statuses))})", *q.statuses)
    if q.start_ms is not None:
        f.add("r.invoked_time >= ?", q.start_ms)
    if q.end_ms is not None:
        f.add("r.invoked_time <= ?", q.end_ms)
    _add_expiry(f, q.expired, now_ms)
    return f


def _add_expiry(f: _Filter, expired: bool | None, now_ms: int) -> None:
    if expired is True:
        f.add("r.download_url_expiry IS NOT NULL AND r.download_url_expiry <= ?", now_ms)
    elif expired is False:
        f.add("(r.download_url_expiry IS NULL OR r.download_url_expiry > ?)", now_ms)


def _page(
    tx: Tx, f: _Filter, descending: bool, limit: int, offset: int, index: str | None = None
) -> list[Row]:
    """The page's rows. Deferred join: walk an index for the IDs, then fetch only the rows
    shown. ``index`` names the index SQLite must walk (PostgreSQL's planner chooses)."""
    order = "DESC" if descending else "ASC"
    hint = f" INDEXED BY {index}" if index is not None and tx.dialect == "sqlite" else ""
    sql = (
        f"SELECT {LIST_COLUMNS} FROM (SELECT r.id FROM recordings r{hint} WHERE {f.where}"
        f" ORDER BY r.invoked_time {order}, r.id {order} LIMIT ? OFFSET ?) p"
        " JOIN recordings r ON r.id = p.id JOIN meetings m ON m.id = r.meeting_id"
        f" ORDER BY r.invoked_time {order}, r.id {order}"
    )
    return tx.all(sql, [*f.params, limit, offset])


def _count(tx: Tx, f: _Filter) -> int:
    row = tx.one(f"SELECT count(*) FROM recordings r WHERE {f.where}", f.params)
    return int(row[0]) if row else 0


def list_page(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    """(total matching, the rows of the requested page)."""
    if q.search is not None or q.meeting_id is not None:
        return _by_meetings(tx, app_id, q, now_ms)
    if q.expired is None:
        return _by_days(tx, app_id, q)
    if not q.statuses and q.start_ms is None and q.end_ms is None:
        return _by_expiry(tx, app_id, q, now_ms)
    return _by_expiry_days(tx, app_id, q, now_ms)


def _app_total(tx: Tx, app_id: str) -> int:
    row = tx.one(
        "SELECT CAST(sum(n) AS BIGINT) FROM recording_day_counts WHERE app_id = ?", (app_id,)
    )
    return int(row[0]) if row and row[0] is not None else 0


# --- expired alone: the expiry counts --------------------------------------------------------


def _expired_count(tx: Tx, app_id: str, now_ms: int) -> int:
    """Recordings whose expiry has passed: whole days before today from the counts, and the
    part of today up to ``now_ms`` from the expiry index."""
    today = now_ms // DAY_MS
    row = tx.one(
        "SELECT CAST(sum(n) AS BIGINT) FROM recording_expiry_counts WHERE app_id = ? AND day < ?",
        (app_id, today),
    )
    whole = int(row[0]) if row and row[0] is not None else 0
    edge = _count(
        tx,
        _Filter(
            ["r.app_id = ?", "r.download_url_expiry >= ?", "r.download_url_expiry <= ?"],
            [app_id, today * DAY_MS, now_ms],
        ),
    )
    return whole + edge


def _by_expiry(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    expired = _expired_count(tx, app_id, now_ms)
    total = expired if q.expired else _app_total(tx, app_id) - expired
    if q.per_page == 0 or q.offset >= total:
        return total, []
    f = _recording_filter(app_id, q, now_ms)
    return total, _page(tx, f, q.descending, q.per_page, q.offset, "recordings_by_time")


# --- status and time window: the day counts -----------------------------------------------

# Below this offset a page skips its rows in the index directly; past it, the day counts first
# say on which day the page begins (a day holds a small share of the recordings).
_DIRECT_OFFSET = 2_000


@dataclass(frozen=True)
class _Days:
    """The window in whole days from the counts, plus exact counts of its partial edge days."""

    first: int | None  # whole days from..to (inclusive; None = open)
    last: int | None
    edges: dict[int, int]  # partial day -> exact count of matching recordings in it


def _day_filter(app_id: str, q: ListQuery, first_day: int | None, last_day: int | None) -> _Filter:
    f = _Filter(["app_id = ?"], [app_id])
    if q.statuses:
        f.add(f"status IN ({_marks(len(q.statuses))})", *q.statuses)
    if first_day is not None:
        f.add("day >= ?", first_day)
    if last_day is not None:
        f.add("day <= ?", last_day)
    return f


def _days(tx: Tx, app_id: str, q: ListQuery, now_ms: int = 0) -> _Days:
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
        first, last = day * DAY_MS, (day + 1) * DAY_MS - 1
        if q.start_ms is not None:
            first = max(first, q.start_ms)
        if q.end_ms is not None:
            last = min(last, q.end_ms)
        edge = _Filter(["r.app_id = ?"], [app_id])
        if q.statuses:
            edge.add(f"r.status IN ({_marks(len(q.statuses))})", *q.statuses)
        edge.add("r.invoked_time >= ? AND r.invoked_time <= ?", first, last)
        _add_expiry(edge, q.expired, now_ms)
        edges[day] = _count(tx, edge) if first <= last else 0
    first_day = None if lo is None else lo + 1 if lo in partial else lo
    last_day = None if hi is None else hi - 1 if hi in partial else hi
    return _Days(first_day, last_day, edges)


def _by_days(tx: Tx, app_id: str, q: ListQuery) -> tuple[int, list[Row]]:
    days = _days(tx, app_id, q)
    whole = _whole_days(tx, app_id, _day_filter(app_id, q, days.first, days.last))
    total = sum(whole[1]) + sum(days.edges.values())
    if q.per_page == 0 or q.offset >= total:
        return total, []
    f = _recording_filter(app_id, q, 0)  # no expiry filter on this path: the clock is unused
    if q.offset < _DIRECT_OFFSET and (
        # Several statuses are read from the time index, stepping over the other statuses'
        # recordings too: about offset x (all / matching) rows.
        q.statuses is None
        or len(q.statuses) == 1
        or q.offset * _app_total(tx, app_id) < _DIRECT_OFFSET * total
    ):
        return total, _page(tx, f, q.descending, q.per_page, q.offset)
    day, skipped = _landing_day(whole, days.edges, q.descending, q.offset)
    # Start reading at the boundary of the day where the page begins.
    if skipped:
        if q.descending:
            f.add("r.invoked_time <= ?", (day + 1) * DAY_MS - 1)
        else:
            f.add("r.invoked_time >= ?", day * DAY_MS)
    return total, _page(tx, f, q.descending, q.per_page, q.offset - skipped)


# The whole days' counts of a list request (app, statuses, day range), per day in order, kept
# with the app's data version they were read at (as the search cache below): a deep page then
# finds its day, and any page its total, without reading the counts again. Bounded by days
# held (16 bytes each: 1.6 MB at most); each process keeps its own.
_DAY_CACHE_DAYS = 100_000
_DayList: TypeAlias = "tuple[array[int], array[int]]"
_day_lists: LRUCache[tuple[str, str, tuple[Any, ...]], tuple[int, _DayList]] = LRUCache(
    maxsize=_DAY_CACHE_DAYS, getsizeof=lambda entry: len(entry[1][0]) + 1
)
_day_lists_lock = threading.Lock()


def _whole_days(tx: Tx, app_id: str, whole: _Filter) -> _DayList:
    """(days in ascending order, how many matching recordings each) for ``whole``."""
    return _cached_days(
        tx,
        app_id,
        "SELECT day, CAST(sum(n) AS BIGINT) FROM recording_day_counts"
        f" WHERE {whole.where} GROUP BY day ORDER BY day",
        whole.params,
    )


def _cached_days(tx: Tx, app_id: str, sql: str, params: list[Any]) -> _DayList:
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


def _landing_day(
    whole: _DayList, edges: dict[int, int], descending: bool, offset: int
) -> tuple[int, int]:
    """(the day on which the recording at ``offset`` lies, how many matching recordings come
    before that day in the list's order): a running sum over the days. The edge days lie
    outside the whole days' range (``_days``); the whole days are found by bisecting their
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
        sums = list(accumulate(counts[::-1] if descending else counts))
        i = bisect.bisect_right(sums, offset - before)
        if i < len(sums):
            return days[len(days) - 1 - i if descending else i], before + (sums[i - 1] if i else 0)
        before += sums[-1]
    for day in tail:
        if before + edges[day] > offset:
            return day, before
        before += edges[day]
    return 0, 0  # the counts and the total disagree: cannot happen, but never lose rows


# --- expiry with a status or a window: the per-status expiry counts --------------------------


def _expiry_day_counts(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> dict[int, int]:
    """Per day of ``invoked_time``, how many recordings match ``q`` (status, window and
    ``expired`` at ``now_ms``); days with none may be missing."""
    days = _days(tx, app_id, q, now_ms)
    matching = {day: n for day, n in days.edges.items() if n}
    if days.first is not None and days.last is not None and days.first > days.last:
        return matching  # no whole day in the window
    today = now_ms // DAY_MS
    whole = _day_filter(app_id, q, days.first, days.last)
    days_before_today = _cached_days(
        tx,
        app_id,
        "SELECT day, CAST(sum(n) AS BIGINT) FROM recording_expiry_status_counts"
        f" WHERE {whole.where} AND expiry_day < ? GROUP BY day ORDER BY day",
        [*whole.params, today],
    )
    expired = dict(zip(*days_before_today, strict=True))
    # Today's expiries up to the present: exact, from the expiry index.
    edge = _Filter(
        ["r.app_id = ?", "r.download_url_expiry >= ?", "r.download_url_expiry <= ?"],
        [app_id, today * DAY_MS, now_ms],
    )
    if q.statuses:
        edge.add(f"r.status IN ({_marks(len(q.statuses))})", *q.statuses)
    if days.first is not None:
        edge.add("r.invoked_time >= ?", days.first * DAY_MS)
    if days.last is not None:
        edge.add("r.invoked_time <= ?", (days.last + 1) * DAY_MS - 1)
    hint = " INDEXED BY recordings_by_expiry" if tx.dialect == "sqlite" else ""
    for day, n in tx.all(
        f"SELECT r.invoked_time / {DAY_MS}, count(*) FROM recordings r{hint}"
        f" WHERE {edge.where} GROUP BY r.invoked_time / {DAY_MS}",
        edge.params,
    ):
        expired[int(day)] = expired.get(int(day), 0) + int(n)
    if q.expired:
        per_day = expired
    else:
        per_day = dict(zip(*_whole_days(tx, app_id, whole), strict=True))
        for day, n in expired.items():
            per_day[day] = per_day.get(day, 0) - n
    for day, n in per_day.items():
        if n:
            matching[day] = matching.get(day, 0) + n
    return matching


def _by_expiry_days(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    per_day = _expiry_day_counts(tx, app_id, q, now_ms)
    total = sum(per_day.values())
    if q.per_page == 0 or q.offset >= total:
        return total, []
    # The day where the page begins, and how many matching recordings come before it.
    skipped = 0
    for day in sorted(per_day, reverse=q.descending):
        if skipped + per_day[day] > q.offset:
            break
        skipped += per_day[day]
    f = _recording_filter(app_id, q, now_ms)
    if q.descending:
        f.add("r.invoked_time <= ?", (day + 1) * DAY_MS - 1)
    else:
        f.add("r.invoked_time >= ?", day * DAY_MS)
    return total, _page(tx, f, q.descending, q.per_page, q.offset - skipped)


# --- meeting and search: the meetings' counts ---------------------------------------------

# A meeting ID or a prefix of one: lowercase hex and dashes (decisions.md: IDs are lowercase).
_ID_PREFIX = re.compile(r"^[0-9a-f-]+\Z")
# Up to this many meetings go into the SQL as parameters; more go as one array.
_INLINE_MEETINGS = 64
# A page from the matching meetings' own recordings costs about one row per recording they
# have; walking the time index costs about this many times the rows it steps over (each needs
# the table row, for its meeting). Up to _GATHER_ALWAYS recordings, gathering is cheap anyway.
_WALK_COST = 3
_GATHER_ALWAYS = 5_000


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
# data version they were read at (every write to an app's meetings or recordings bumps it, in
# its own transaction; apps/repository.touch): clients page through one search's results, and
# resolving a broad word reads thousands of meetings (20,559 for "review" at 1M recordings).
# Bounded by meetings held (about 150 bytes each with their orderings: 45 MB at most), enough
# for a dashboard's few dozen words at once (at 100,000, the 15 words of bench/http_mix.py
# evicted each other); each process keeps its own.
_SEARCH_CACHE_MEETINGS = 300_000
_searches: LRUCache[tuple[str, str, str, str | None], tuple[int, _Resolved]] = LRUCache(
    maxsize=_SEARCH_CACHE_MEETINGS, getsizeof=lambda entry: len(entry[1].ids) + 1
)
_searches_lock = threading.Lock()


def _meetings(tx: Tx, app_id: str, q: ListQuery) -> _Resolved:
    """``_read_meetings``, for a search through the cache above."""
    if q.search is None:
        return _Resolved(_read_meetings(tx, app_id, q))
    owner = apps.owner_and_version(tx, app_id)  # in this transaction's snapshot
    if owner is None:
        return _Resolved([])
    version = owner[1]
    key = (tx.store, app_id, q.search.lower(), q.meeting_id)
    with _searches_lock:
        cached = _searches.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    found = _Resolved(_read_meetings(tx, app_id, q))
    if len(found.ids) <= _SEARCH_CACHE_MEETINGS // 2:
        with _searches_lock:
            _searches[key] = (version, found)
    return found


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
        return f"r.meeting_id IN ({_marks(len(ids))})", ids
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


def _by_meetings(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    resolved = _meetings(tx, app_id, q)
    recordings = resolved.recordings
    if recordings == 0:
        return 0, []
    f = _recording_filter(app_id, q, now_ms)
    only_meetings = len(f.sql) == 1  # no status, window or expiry filter
    if only_meetings:
        total = recordings
    else:
        counted = _Filter(list(f.sql), list(f.params))
        clause, params = _in_meetings(tx, resolved.ids, resolved)
        counted.add(clause, *params)
        total = _count(tx, counted)
    if q.per_page == 0 or q.offset >= total:
        return total, []
    k = q.offset + q.per_page
    page_meetings, bound = _reaching(resolved, k, q.descending) if only_meetings else ([], None)
    if bound is not None:  # the page's recordings are no older (newer) than this
        f.add("r.invoked_time >= ?" if q.descending else "r.invoked_time <= ?", bound)
    every = bound is None  # the page may hold any of the meetings
    counts = resolved.counts
    gathered = recordings if every else sum(counts[i] for i in page_meetings)
    index = "recordings_by_meeting"
    if ((every and len(counts) > 1) or len(page_meetings) > 1) and gathered > _GATHER_ALWAYS:
        # Many recordings to sort: walking the time index may find the page sooner.
        walked = k * _app_total(tx, app_id) / total
        if _WALK_COST * walked < gathered:
            index, every = "recordings_by_time", True
    if every:
        clause, params = _in_meetings(tx, resolved.ids, resolved)
    else:
        clause, params = _in_meetings(tx, [resolved.ids[i] for i in page_meetings])
    f.add(clause, *params)
    return total, _page(tx, f, q.descending, q.per_page, q.offset, index)
