"""The webhook sender (docs/spec/webhooks.md, A delivery; reckit decides).

Each round claims due deliveries (jobs of kind ``webhook``) with leases under this node's ID,
passing over those of paused URLs, POSTs them side by side (httpx, redirects not followed,
timeout 10 s, connect 5 s), and writes each attempt's outcome under the lease token it was
claimed with: a result whose lease was taken over, or whose delivery was cancelled (the webhook
disabled or deleted), writes nothing. Every node runs one; PostgreSQL's ``SKIP LOCKED`` claims
and the lease keep two nodes from sending the same attempt.

- Any 2xx: delivered. A 5xx, a timeout or a network error: retried after 10 s, 1 min, 5 min,
  30 min, 2 h (±20 %), then failed. Any other answer (3xx, 4xx): failed at once.
- The URL is checked again before each attempt (the SSRF guard): refused → failed at once.
- After 10 consecutive failures a URL is paused 60 s, doubling to 15 min with each failure
  after that; its deliveries wait (none is dropped); a 2xx ends the run.
- The body, its signature and its ``rtk-uuid`` were made once, when the event was queued
  (events.py): every attempt sends the same bytes.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from reckit.clock import Clock
from reckit.db.engine import Database, Tx
from reckit.jobs import repository as jobs
from reckit.jobs.backoff import Backoff
from reckit.webhooks import guard, repository
from reckit.webhooks.models import KINDS, Webhook

log = logging.getLogger("reckit.webhooks")

BACKOFF = Backoff((10_000, 60_000, 300_000, 1_800_000, 7_200_000), jitter=0.2)


@dataclass(frozen=True)
class WebhookPolicy:
    node_id: str
    allow_private: bool = False
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    concurrency: int = 8
    backoff: Backoff = field(default=BACKOFF)
    pause_after: int = 10
    first_pause_ms: int = 60_000
    max_pause_ms: int = 900_000
    poll_s: float = 0.2

    @property
    def lease_ms(self) -> int:
        """Long enough for an attempt and its write; another node takes over only after."""
        return int((self.timeout_s + self.connect_timeout_s + 30) * 1000)


@dataclass(frozen=True)
class Outcome:
    code: int | None  # the receiver's status code; None: no answer
    error: str | None  # why it failed, when it did
    retryable: bool = False

    @property
    def delivered(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def classify(code: int) -> Outcome:
    if 200 <= code < 300:
        return Outcome(code, None)
    return Outcome(code, f"HTTP {code}", retryable=code >= 500)


class WebhookRunner:
    def __init__(self, db: Database, clock: Clock, policy: WebhookPolicy) -> None:
        self.db, self.clock, self.policy = db, clock, policy
        self.client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s),
            headers={"user-agent": "reckit-webhooks"},
            trust_env=False,
        )
        self._pool = ThreadPoolExecutor(max(1, policy.concurrency), "webhook")
        self._round_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- rounds ---------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim the due deliveries (up to ``concurrency``), send them side by side, write
        their outcomes (one transaction). How many were attempted."""
        with self._round_lock:
            now = self.clock.now_ms()
            with self.db.transaction(write=True) as tx:
                paused = repository.paused_urls(tx, now)
                claimed = jobs.claim_due(
                    tx,
                    now,
                    self.policy.lease_ms,
                    self.policy.concurrency,
                    kinds=KINDS,
                    owner=self.policy.node_id,
                    skip_hosts=paused,
                )
                hooks = {j.subject: repository.get_by_id(tx, j.subject) for j in claimed}
            if not claimed:
                return 0
            outcomes = list(self._pool.map(lambda j: self._outcome(j, hooks[j.subject]), claimed))
            try:
                self._settle(list(zip(claimed, outcomes, strict=True)))
            except Exception:
                # Their leases run out and they are tried again: at least once, same rtk-uuid.
                log.exception("webhook deliveries: could not record %d attempts", len(claimed))
            return len(claimed)

    def drain(self, rounds: int = 100) -> int:
        """Rounds until one finds nothing due (tests and tools). How many were attempted."""
        total = 0
        for _ in range(rounds):
            n = self.run_once()
            total += n
            if n == 0:
                break
        return total

    def start(self) -> None:
        """Rounds on a daemon thread of their own, every ``poll_s`` (at once again after a
        round that found work)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="webhooks")
        self._thread.start()

    def stop(self, grace_s: float = 5.0) -> None:
        """Start no more rounds; wait up to ``grace_s`` for the one under way. Leases of
        attempts that did not finish run out (or are released at this node's next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(grace_s)
            self._thread = None

    def close(self, grace_s: float = 5.0) -> None:
        """``stop``, then free the threads and connections (an attempt still under way ends
        with an error; its lease runs out or is released at this node's next start)."""
        self.stop(grace_s)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("a webhook round failed; trying again")
                busy = 0
            if not busy:
                self._stop.wait(self.policy.poll_s)

    # -- one attempt ----------------------------------------------------------------------------

    def _outcome(self, job: jobs.Job, hook: Webhook | None) -> Outcome:
        try:
            return self._send(job, hook)
        except Exception as exc:
            log.exception("webhook delivery %s: the attempt failed", job.id)
            return Outcome(None, f"{type(exc).__name__}", retryable=True)

    def _send(self, job: jobs.Job, hook: Webhook | None) -> Outcome:
        if hook is None or not hook.enabled:
            return Outcome(None, "the webhook was deleted or disabled")
        why = guard.refusal(hook.url, self.policy.allow_private)
        if why is not None:
            return Outcome(None, f"refused: {hook.url} {why}")
        payload = job.payload
        headers = {
            "content-type": "application/json",
            "rtk-signature": str(payload["signature"]),
            "rtk-uuid": str(payload["uuid"]),
            "rtk-webhook-id": hook.id,
        }
        try:
            answer = self.client.post(
                hook.url, content=str(payload["body"]).encode(), headers=headers
            )
        except httpx.TimeoutException as exc:
            return Outcome(None, f"timed out ({type(exc).__name__})", retryable=True)
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], retryable=True)
        return classify(answer.status_code)

    def _settle(self, attempts: list[tuple[jobs.Job, Outcome]]) -> None:
        now = self.clock.now_ms()
        with self.db.transaction(write=True) as tx:
            for job, outcome in attempts:
                self._write(tx, job, outcome, now)

    def _write(self, tx: Tx, job: jobs.Job, outcome: Outcome, now: int) -> None:
        """One attempt's outcome, under the lease token it was claimed with."""
        p = self.policy
        if outcome.delivered:
            written = jobs.succeed(tx, job.id, now, job.lease_token)
        else:
            error = outcome.error or "failed"
            written = (
                jobs.retry_or_fail(tx, job, error, now, p.backoff, retryable=outcome.retryable)
                is not None
            )
        if not written:  # taken over, timed out or cancelled meanwhile: not ours to write
            return
        repository.add_attempt(tx, job.id, job.attempts, now, outcome.code, outcome.error)
        url = job.host or ""
        if outcome.delivered:
            repository.set_url_health(tx, url, 0, 0, 0)
            return
        failures, pause_ms = repository.count_failure(tx, url)
        if failures >= p.pause_after:
            pause_ms = p.first_pause_ms if pause_ms == 0 else min(pause_ms * 2, p.max_pause_ms)
            log.warning(
                "webhook URL %s failed %d times in a row: paused %d s",
                url,
                failures,
                pause_ms // 1000,
            )
            repository.set_url_health(tx, url, failures, now + pause_ms, pause_ms)
