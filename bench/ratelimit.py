"""The rate limiter's cost per request (http/ratelimit.py) with 1 and with 1,000,000 distinct
keys already in its tables: O(1) means the two columns agree.

For each table size the limiter is filled with that many distinct tokens (one request each),
then timed over ``--requests`` more: a known token, a new token each time (a flood of made-up
tokens, each then refused as unauthenticated), and no token at all (charged to the address).

    .venv/bin/python bench/ratelimit.py [--requests 200000] [--sizes 1,1000000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from reckit.clock import ManualClock
from reckit.http.ratelimit import RateLimiter

NOW = 1_790_000_000_000


def _filled(keys: int) -> RateLimiter:
    limiter = RateLimiter(1200, 300, ManualClock(NOW), max_keys=2_000_000)
    for i in range(keys):
        limiter.hit(f"Bearer fill-{i}", "10.0.0.1")
    return limiter


def _time(work: Callable[[int], object], n: int) -> float:
    """Mean µs per call over ``n`` calls."""
    started = time.perf_counter()
    for i in range(n):
        work(i)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--sizes", default="1,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[str, list[float]]] = []

    def flood(lim: RateLimiter) -> Callable[[int], object]:
        def one(i: int) -> None:
            lim.hit(f"Bearer new-{i}", "127.0.0.1")
            lim.unauthenticated(f"Bearer new-{i}", "127.0.0.1")

        return one

    shapes: list[tuple[str, Callable[[RateLimiter], Callable[[int], object]]]] = [
        ("known token", lambda lim: lambda i: lim.hit("Bearer fill-0", "127.0.0.1")),
        ("new token each time, then refused as unknown", flood),
        ("no token (charged to the address)", lambda lim: lambda i: lim.hit(None, f"a{i % 97}")),
    ]
    for name, shape in shapes:
        figures = []
        for size in sizes:
            limiter = _filled(size)
            work = shape(limiter)
            _time(work, 1000)  # warm-up
            figures.append(_time(work, args.requests))
        rows.append((name, figures))
    header = " | ".join(f"{s:,} keys µs/request" for s in sizes)
    print(f"| request | {header} |")
    print("|---|" + "---|" * len(sizes))
    for name, figures in rows:
        print(f"| {name} | " + " | ".join(f"{f:.2f}" for f in figures) + " |")


if __name__ == "__main__":
    main()
