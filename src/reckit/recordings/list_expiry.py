"""The list filtered on ``expired``. Alone: the total from ``recording_expiry_counts`` (whole days
before today) plus an exact count of today's part. With a status and/or a time window, and
for any page: per day of ``invoked_time``, the recordings that expired before
today from ``recording_expiry_status_counts`` (whole days of the window), plus exact counts of
those expiring today up to the present (the expiry index) and of the window's partial edge
days; ``expired=false`` is the day counts minus those. The page starts on the day where the
offset lands, as on the day-count path (``list_days.py``). Those per-day counts are kept until
the app's data changes or the clock passes the next expiry (``_matching_days``)."""

from __future__ import annotations

import bisect
import threading
from array import array
from typing import Any, TypeAlias

from cachetools import LRUCache

from reckit.apps import repository as apps
from reckit.db.engine import Row, Tx
from reckit.recordings.list_days import (
    cached_days,
    day_filter,
    from_day,
    page_filter,
    read_filtered,
    running_sums,
    whole_days,
    window_days,
)
from reckit.recordings.list_sql import (
    Filter,
    app_total,
    count_where,
    marks,
)
from reckit.recordings.models import ListQuery
from reckit.timestamps import DAY_MS

# Per day of ``invoked_time``, how many recordings match a query with ``expired`` (days in
# ascending order, their counts): what ``_matching_days`` reads. Which recordings have expired
# changes only when the clock passes an expiry, so an answer is kept with the app's data
# version it was read at and the next expiry after the time it was read at; it serves until
# either changes. Bounded by days held (16 bytes each: 1.6 MB at most); each process keeps
# its own.
_KEPT_DAYS = 100_000
ExpiryDays: TypeAlias = "tuple[array[int], array[int]]"
_Key: TypeAlias = "tuple[str, str, tuple[Any, ...]]"
_kept: LRUCache[_Key, tuple[int, int, int, ExpiryDays]] = LRUCache(
    maxsize=_KEPT_DAYS, getsizeof=lambda entry: len(entry[3][0]) + 1
)
_kept_lock = threading.Lock()
_NEVER = 2**62


def _expired_count(tx: Tx, app_id: str, now_ms: int) -> int:
    """Recordings whose expiry has passed: whole days before today from the counts, and the
    part of today up to ``now_ms`` from the expiry index."""
    today = now_ms // DAY_MS
    row = tx.one(
        "SELECT CAST(sum(n) AS BIGINT) FROM recording_expiry_counts WHERE app_id = ? AND day < ?",
        (app_id, today),
    )
    whole = int(row[0]) if row and row[0] is not None else 0
    edge = count_where(
        tx,
        Filter(
            ["r.app_id = ?", "r.download_url_expiry >= ?", "r.download_url_expiry <= ?"],
            [app_id, today * DAY_MS, now_ms],
        ),
    )
    return whole + edge


def by_expiry(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    expired = _expired_count(tx, app_id, now_ms)
    total = expired if q.expired else app_total(tx, app_id) - expired
    if q.per_page == 0 or q.offset >= total:
        return total, []
    return total, _page(tx, app_id, q, now_ms, _matching_days(tx, app_id, q, now_ms))


def _matching_days(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> ExpiryDays:
    """``_expiry_day_counts`` as (days in ascending order, counts), from the cache above while
    it holds: same data version, and no expiry passed since it was read."""
    owner = apps.owner_and_version(tx, app_id)  # in this transaction's snapshot
    version = owner[1] if owner is not None else -1
    key = (tx.store, app_id, (q.statuses, q.start_ms, q.end_ms, q.expired))
    with _kept_lock:
        kept = _kept.get(key)
    if kept is not None:
        kept_version, read_at, until, days = kept
        if kept_version == version and read_at <= now_ms < until:
            return days
    per_day = _expiry_day_counts(tx, app_id, q, now_ms)
    ordered = sorted(d for d, n in per_day.items() if n)
    days = (array("q", ordered), array("q", (per_day[d] for d in ordered)))
    if len(ordered) < _KEPT_DAYS // 4:
        until = _next_expiry(tx, app_id, now_ms)
        with _kept_lock:
            _kept[key] = (version, now_ms, until, days)
    return days


def _next_expiry(tx: Tx, app_id: str, now_ms: int) -> int:
    """The first expiry of the app's recordings after ``now_ms`` (from the expiry index)."""
    row = tx.one(
        "SELECT min(download_url_expiry) FROM recordings"
        " WHERE app_id = ? AND download_url_expiry > ?",
        (app_id, now_ms),
    )
    return int(row[0]) if row and row[0] is not None else _NEVER


def _expiry_day_counts(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> dict[int, int]:
    """Per day of ``invoked_time``, how many recordings match ``q`` (status, window and
    ``expired`` at ``now_ms``); days with none may be missing."""
    days = window_days(tx, app_id, q, now_ms)
    matching = {day: n for day, n in days.edges.items() if n}
    if days.first is not None and days.last is not None and days.first > days.last:
        return matching  # no whole day in the window
    today = now_ms // DAY_MS
    whole = day_filter(app_id, q, days.first, days.last)
    days_before_today = cached_days(
        tx,
        app_id,
        "SELECT day, CAST(sum(n) AS BIGINT) FROM recording_expiry_status_counts"
        f" WHERE {whole.where} AND expiry_day < ? GROUP BY day ORDER BY day",
        [*whole.params, today],
    )
    expired = dict(zip(*days_before_today, strict=True))
    # Today's expiries up to the present: exact, from the expiry index.
    edge = Filter(
        ["r.app_id = ?", "r.download_url_expiry >= ?", "r.download_url_expiry <= ?"],
        [app_id, today * DAY_MS, now_ms],
    )
    if q.statuses:
        edge.add(f"r.status IN ({marks(len(q.statuses))})", *q.statuses)
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
        per_day = dict(zip(*whole_days(tx, app_id, whole), strict=True))
        for day, n in expired.items():
            per_day[day] = per_day.get(day, 0) - n
    for day, n in per_day.items():
        if n:
            matching[day] = matching.get(day, 0) + n
    return matching


def by_expiry_days(tx: Tx, app_id: str, q: ListQuery, now_ms: int) -> tuple[int, list[Row]]:
    days = _matching_days(tx, app_id, q, now_ms)
    total = sum(days[1])
    if q.per_page == 0 or q.offset >= total:
        return total, []
    return total, _page(tx, app_id, q, now_ms, days)


def _page(tx: Tx, app_id: str, q: ListQuery, now_ms: int, days: ExpiryDays) -> list[Row]:
    """The page, read from the start of the day where it begins (``days``: matching
    recordings per day of ``invoked_time``): at most a day's recordings are stepped over, not
    every newer one that has not expired (at 10M, a week of them)."""
    # The day where the page begins, and how many matching recordings come before it.
    day, skipped = _landing(days, q.descending, q.offset)
    f = page_filter(app_id, q, now_ms)
    from_day(f, day, q.descending)
    return read_filtered(tx, f, q, q.offset - skipped)


def _landing(days: ExpiryDays, descending: bool, offset: int) -> tuple[int, int]:
    """(the day where the recording at ``offset`` lies, how many come before that day in the
    list's order); ``offset`` is below the total (past it: the last day)."""
    ordered, counts = days
    if not ordered:
        return 0, 0
    sums = running_sums(counts, descending)
    i = min(bisect.bisect_right(sums, offset), len(sums) - 1)
    return ordered[len(ordered) - 1 - i if descending else i], (sums[i - 1] if i else 0)
