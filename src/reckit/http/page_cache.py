"""Rendered list pages, kept while the app's data has not changed.

Every write to an app's recordings or meetings bumps ``apps.data_version`` in the same
transaction; a cached body is served only while the version it was rendered at is still the
app's version, which one indexed point read confirms. Dashboards and SDK loops that poll the
same page are then answered without running the list query; any write makes the next request
render afresh. Answers that depend on the clock (the ``expired`` filter) are never cached.
Bounded by bytes; each process keeps its own.

Identical requests that miss at the same moment (a burst of pollers after a write, or the
first seconds after a start) render once: the first renders, the others wait for it and are
then answered from the cache, each still authorized on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from cachetools import LRUCache

Key = tuple[str, bytes]


class PageCache:
    def __init__(self, max_bytes: int) -> None:
        self._pages: LRUCache[Key, tuple[int, bytes]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda entry: len(entry[1]) + 200
        )
        self.enabled = max_bytes > 0
        self._rendering: dict[Key, asyncio.Event] = {}

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

    async def wait_for_render(self, key: Key) -> bool:
        """If another request is rendering this page, wait until it is done; whether it was."""
        done = self._rendering.get(key) if self.enabled else None
        if done is None:
            return False
        await done.wait()
        return True

    @contextlib.contextmanager
    def rendering(self, key: Key) -> Iterator[None]:
        """Mark this page as being rendered by the current request (see ``wait_for_render``)."""
        if not self.enabled or key in self._rendering:
            yield
            return
        done = self._rendering[key] = asyncio.Event()
        try:
            yield
        finally:
            del self._rendering[key]
            done.set()
