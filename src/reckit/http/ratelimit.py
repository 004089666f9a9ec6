"""Optional rate limit (decisions.md, Errors; wire-spec §1.9 and §7 item 39).

Cloudflare allows 1,200 requests per 5 minutes per token; reckit does the same when
``RECKIT_RATE_LIMIT`` is set (0, the default, turns it off). Each key has its own fixed window
from its first request, kept in memory: each reckit process counts on its own.

What is counted: a request is charged to its bearer token as the server reads it, so every
spelling of one token (``bearer T``, ``BEARER  T``) is one key. A request that does not
authenticate (no token, a malformed header, an unknown or revoked token) is charged to the
client's address instead, and a token not yet seen to authenticate in this window is refused
while its address is over the limit: garbage tokens cannot buy fresh allowances.

Cost: O(1) per request whatever the number of keys. Keys live in two generations, each one
window long; when a generation ends the older one is dropped whole (every window in it has
ended), so there is no scan. Each generation holds at most ``max_keys`` keys; past that, new
keys share one overflow counter, so memory stays bounded under a flood of distinct keys.
"""

from __future__ import annotations

import hashlib
import math
import threading

from reckit.auth.tokens import parse_authorization
from reckit.clock import Clock
from reckit.errors import AuthError

_OVERFLOW = b"overflow"


class _Counts:
    """Per-key (window start, count), in two generations of one window each."""

    def __init__(self, window_ms: int, max_keys: int) -> None:
        self.window_ms = window_ms
        self.max_keys = max_keys
        self._current: dict[bytes, tuple[int, int]] = {}
        self._previous: dict[bytes, tuple[int, int]] = {}
        self._generation_start: int | None = None

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def _roll(self, now: int) -> None:
        start = self._generation_start
        if start is None or now - start >= 2 * self.window_ms:
            self._previous, self._current = {}, {}
            self._generation_start = now
        elif now - start >= self.window_ms:
            self._previous, self._current = self._current, {}
            self._generation_start = start + self.window_ms

    def _entry(self, key: bytes, now: int) -> tuple[bytes, int, int]:
        entry = self._current.get(key)
        if entry is None:
            entry = self._previous.pop(key, None)
            if entry is None and len(self._current) >= self.max_keys:
                key = _OVERFLOW
                entry = self._current.get(key)
        start, count = entry if entry is not None else (now, 0)
        if now - start >= self.window_ms:
            start, count = now, 0
        return key, start, count

    def hit(self, key: bytes, now: int) -> tuple[int, int]:
        """Count one request; its window start and the count so far, this one included."""
        self._roll(now)
        key, start, count = self._entry(key, now)
        self._current[key] = (start, count + 1)
        return start, count + 1

    def peek(self, key: bytes, now: int) -> tuple[int, int] | None:
        self._roll(now)
        entry = self._current.get(key) or self._previous.get(key)
        if entry is None or now - entry[0] >= self.window_ms:
            return None
        return entry

    def forget(self, key: bytes) -> None:
        self._current.pop(key, None)
        self._previous.pop(key, None)


class RateLimiter:
    def __init__(self, limit: int, window_s: int, clock: Clock, max_keys: int = 1_000_000) -> None:
        self.limit = limit
        self.window_ms = window_s * 1000
        self._clock = clock
        self._tokens = _Counts(self.window_ms, max_keys)
        self._addresses = _Counts(self.window_ms, max_keys)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tokens) + len(self._addresses)

    @staticmethod
    def token_key(authorization: str | None) -> bytes | None:
        """The key of the token in an Authorization header, or None when it has none."""
        try:
            token = parse_authorization(authorization)
        except AuthError:
            return None
        return hashlib.blake2b(token.encode(), digest_size=16).digest()

    def hit(self, authorization: str | None, address: str) -> int | None:
        """Count one request before it is served: None when allowed, else the seconds until
        its window resets (the 429's retry-after)."""
        now = self._clock.now_ms()
        token = self.token_key(authorization)
        place = address.encode()
        with self._lock:
            if token is None or self._tokens.peek(token, now) is None:
                # Not (yet) a token that authenticated in this window: its address answers.
                seen = self._addresses.peek(place, now)
                if seen is not None and seen[1] >= self.limit:
                    return self._retry_after(seen[0], now)
            if token is None:
                start, count = self._addresses.hit(place, now)
            else:
                start, count = self._tokens.hit(token, now)
        if count <= self.limit:
            return None
        return self._retry_after(start, now)

    def unauthenticated(self, authorization: str | None, address: str) -> None:
        """The request did not authenticate: its charge moves from its token (if it named one)
        to its address."""
        token = self.token_key(authorization)
        if token is None:
            return  # charged to the address already
        now = self._clock.now_ms()
        with self._lock:
            self._tokens.forget(token)
            self._addresses.hit(address.encode(), now)

    def _retry_after(self, start: int, now: int) -> int:
        return max(1, math.ceil((start + self.window_ms - now) / 1000))
