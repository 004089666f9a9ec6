"""Rendered list pages, kept while the app's data has not changed.

Every write to an app's recordings or meetings bumps ``apps.data_version`` in the same
transaction; a cached body is served only while the version it was rendered at is still the
app's version, which one indexed point read confirms. Dashboards and SDK loops that poll the
same page are then answered without running the list query; any write makes the next request
render afresh. Answers that depend on the clock (the ``expired`` filter) are never cached.
Bounded by bytes; each process keeps its own.
"""

from __future__ import annotations

from cachetools import LRUCache

Key = tuple[str, bytes]


class PageCache:
    def __init__(self, max_bytes: int) -> None:
        self._pages: LRUCache[Key, tuple[int, bytes]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: len(entry[1]) + 200
        )
        self.enabled = max_bytes > 0

    def get(self, key: Key, version: int) -> bytes | None:
        entry = self._pages.get(key)
        if entry is None or entry[0] != version:
            return None
        return entry[1]

    def has(self, key: Key) -> bool:
        return key in self._pages

    def put(self, key: Key, version: int, body: bytes) -> None:
        if self.enabled and len(body) * 4 < self._pages.maxsize:
            self._pages[key] = (version, body)
