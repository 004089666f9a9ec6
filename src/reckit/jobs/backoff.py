"""When a failed job is tried again (jobs/repository.py ``retry_or_fail``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

_RNG = random.Random()


@dataclass(frozen=True)
class Backoff:
    """After the n-th attempt of a job failed, the next one is due ``delays_ms[n - 1]`` later,
    within ±``jitter`` of it (a share: 0.2 is ±20 %); after attempt ``len(delays_ms) + 1``
    there is none. Delivery doubles from ``RECKIT_DELIVERY_BACKOFF`` (``doubling``); a fixed
    schedule with jitter is, say, ``Backoff((10_000, 60_000, 300_000), jitter=0.2)``."""

    delays_ms: tuple[int, ...]
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.delays_ms) or not 0 <= self.jitter < 1:
            raise ValueError("delays must not be negative, and jitter must be in [0, 1)")

    @classmethod
    def doubling(cls, first_ms: int, attempts: int) -> Backoff:
        """``attempts`` in all, the first retry ``first_ms`` after the first failure, each
        later wait twice the one before."""
        return cls(tuple(first_ms * 2**i for i in range(max(0, attempts - 1))))

    @property
    def attempts(self) -> int:
        """How many attempts a job gets in all."""
        return len(self.delays_ms) + 1

    def delay_ms(self, attempt: int, rng: random.Random | None = None) -> int | None:
        """How long to wait after attempt number ``attempt`` (1 = the first) failed; None when
        it was the last."""
        if not 1 <= attempt <= len(self.delays_ms):
            return None
        delay = self.delays_ms[attempt - 1]
        if self.jitter:
            share = (rng or _RNG).uniform(-self.jitter, self.jitter)
            delay = round(delay * (1 + share))
        return delay
