"""How long a recorder has really been silent: the time since the server last heard from it,
less the time the server itself could not listen or write (it was not running yet, its store
was busy, its process stalled). A recorder is judged only by the time it could have been heard:
a server that could not write a heartbeat must not blame the recorder for it. The same
accounting serves the claim timeout (a recording nobody claimed while the server was down was
not refused by the recorders).

The stalls are this process's own observations: a write that waited a second or more for the
store (or gave up), a gap between two runs of the sweep far longer than its interval, and the
time before this process started. Each process of a server judges with what it saw; a busy
store is seen by all of them.
"""

from __future__ import annotations

import bisect
import threading

# Spans kept; the oldest go first (a judgement about a heartbeat that old is long made).
MAX_SPANS = 512


class Stalls:
    """Disjoint spans of time [start, end) in ms during which the server could not work."""

    def __init__(self, started_ms: int) -> None:
        # Before this process started nobody could be heard: nothing before counts.
        self._spans: list[tuple[int, int]] = [(0, started_ms)]
        self._lock = threading.Lock()

    def add(self, start_ms: int, end_ms: int) -> None:
        if end_ms <= start_ms:
            return
        with self._lock:
            spans = self._spans
            i = bisect.bisect_left(spans, (start_ms, start_ms))
            # Merge with every span that overlaps or touches [start, end).
            if i > 0 and spans[i - 1][1] >= start_ms:
                i -= 1
            j = i
            while j < len(spans) and spans[j][0] <= end_ms:
                start_ms = min(start_ms, spans[j][0])
                end_ms = max(end_ms, spans[j][1])
                j += 1
            spans[i:j] = [(start_ms, end_ms)]
            if len(spans) > MAX_SPANS:
                del spans[: len(spans) - MAX_SPANS]

    def healthy_ms(self, since_ms: int, until_ms: int) -> int:
        """The part of [since, until) the server was able to work."""
        if until_ms <= since_ms:
            return 0
        with self._lock:
            stalled = sum(
                max(0, min(end, until_ms) - max(start, since_ms)) for start, end in self._spans
            )
        return until_ms - since_ms - stalled


class SweepGaps:
    """Notices the sweep running late: a gap between two sweeps longer than ``allowed_ms``
    means the process (or the store it waited on) stalled, and the gap is a stall."""

    def __init__(self, stalls: Stalls, allowed_ms: int) -> None:
        self._stalls = stalls
        self._allowed_ms = allowed_ms
        self._last_ok: int | None = None

    def before(self, now_ms: int) -> None:
        last = self._last_ok
        if last is not None and now_ms - last > self._allowed_ms:
            self._stalls.add(last, now_ms)

    def succeeded(self, now_ms: int) -> None:
        self._last_ok = now_ms
