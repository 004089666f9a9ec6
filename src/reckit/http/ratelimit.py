"""Optional per-token rate limit (decisions.md, Errors; wire-spec §1.9 and §7 item 39).

Cloudflare allows 1,200 requests per 5 minutes per token; reckit does the same when
``RECKIT_RATE_LIMIT`` is set (0, the default, turns it off). Fixed windows, kept in memory:
each reckit process counts on its own.
"""

from __future__ import annotations

import hashlib
import math
import threading

from reckit.clock import Clock


class RateLimiter:
    def __init__(self, limit: int, window_s: int, clock: Clock) -> None:
        self.limit = limit
        self.window_ms = window_s * 1000
        self._clock = clock
        self._windows: dict[bytes, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count one request: None when allowed, else the seconds until the window resets."""
        now = self._clock.now_ms()
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        with self._lock:
            start, count = self._windows.get(digest, (now, 0))
            if now - start >= self.window_ms:
                start, count = now, 0
            count += 1
            self._windows[digest] = (start, count)
            if len(self._windows) > 100_000:
                self._forget(now)
        if count <= self.limit:
            return None
        return max(1, math.ceil((start + self.window_ms - now) / 1000))

    def _forget(self, now: int) -> None:
        for k in [k for k, (s, _) in self._windows.items() if now - s >= self.window_ms]:
            del self._windows[k]
