"""The delivery runner: transfers to customers' storage run side by side, so that one slow or
unreachable destination never holds up the others.

Each round (``poll``, once a second from the server's lifespan; ``run_once`` for tests and
tools) first times out attempts that have run past the attempt timeout, then claims as many due
jobs as there are free slots, passing over jobs whose destination host already has its share of
slots (they stay pending for a later round), and starts each on a thread of its own.

- ``concurrency`` slots in all and ``per_host`` per destination host (a job's ``host``, from
  its storage config's non-secret fields: delivery/service.py ``destination_host``). The bounds
  are per process: ``reckit serve --workers N`` runs N runners.
- An attempt still running ``attempt_timeout_s`` after it started counts as failed and
  retryable: it is written as such (backoff, or ERRORED once attempts run out) and the runner
  stops waiting for it. Its thread cannot be killed; every storage backend is configured so
  that no request of it waits, or retries, beyond the attempt timeout, so it ends soon after.
  Until it does it keeps its slot (and its host's), and its job is not tried again here. Its
  result, whenever it comes, is written under the lease token it was claimed with, which the
  timeout cleared: it changes nothing (jobs/repository.py).
- Leases carry this node's ID (``<data_dir>/node.id``, jobs/node.py: made on first start and
  shared by every worker process of one ``reckit serve``). ``reckit serve`` releases the node's
  own leases when it starts: none of its old transfers can be alive. Another node's leases are
  left to run out.
  ``stop`` (graceful shutdown) waits a little for the transfers under way, then gives the
  leases of the rest back.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from reckit.clock import Clock
from reckit.crypto import SecretBox
from reckit.db.engine import Database, Tx
from reckit.delivery import service
from reckit.delivery.repository import KINDS
from reckit.delivery.service import Outcome, Policy, Publisher
from reckit.jobs import repository as jobs

# The node's ID and its leases at start are the jobs queue's (jobs/node.py); serve and the app
# still import them from here.
from reckit.jobs.node import NODE_ID_FILE as NODE_ID_FILE
from reckit.jobs.node import load_node_id as load_node_id
from reckit.jobs.node import release_own_leases as release_own_leases
from reckit.recordings import live_repository as live

log = logging.getLogger("reckit.delivery")


@dataclass(eq=False)
class _Attempt:
    job: jobs.Job  # as claimed: attempt number and lease token
    host: str
    deadline: float  # monotonic seconds
    done: threading.Event = field(default_factory=threading.Event)
    given_up: bool = False  # timed out or released: its result no longer counts


class DeliveryRunner:
    """Runs delivery attempts on threads of its own (daemon threads: a transfer that hangs
    never keeps the process from exiting), within the bounds of ``policy``."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        publisher: Publisher,
        policy: Policy,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.box, self.publisher = db, box, publisher
        self.policy, self.clock = policy, clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        # One round at a time (the background one and deliver_once, say): each counts the
        # free slots, then fills them.
        self._round_lock = threading.Lock()
        self._running: dict[str, _Attempt] = {}  # by lease token, until its thread ends
        self._stopping = False
        self._names = itertools.count(1)

    # -- rounds ---------------------------------------------------------------------------------

    def poll(self) -> int:
        """One round without waiting: time out overdue attempts, then start due jobs in the
        free slots. How many were started."""
        return len(self._round())

    def run_once(self) -> int:
        """One round, then wait for the attempts it started: each until it ends or its timeout
        (then it counts as failed). How many were started."""
        started = self._round()
        for attempt in started:
            attempt.done.wait(max(0.0, attempt.deadline - self._monotonic()))
        self._give_up([a for a in started if not a.done.is_set()])
        return len(started)

    def busy(self) -> int:
        """Attempts whose threads are still running, timed-out ones included."""
        with self._lock:
            return len(self._running)

    def expire(self) -> int:
        """Count attempts running past the attempt timeout as failed. How many."""
        now = self._monotonic()
        with self._lock:
            overdue = [a for a in self._running.values() if not a.given_up and now >= a.deadline]
        return self._give_up(overdue)

    def stop(self, grace_s: float = 5.0) -> int:
        """Start nothing more; wait up to ``grace_s`` for the attempts under way, then give
        the leases of the rest back (due at once, their attempt not counted), for another
        node, or this one restarted. How many were given back."""
        with self._lock:
            self._stopping = True
            under_way = [a for a in self._running.values() if not a.given_up]
        until = self._monotonic() + grace_s
        for attempt in under_way:
            attempt.done.wait(max(0.0, until - self._monotonic()))
        released = 0
        now = self.clock.now_ms()
        with self.db.transaction(write=True) as tx:
            for attempt in under_way:
                token = attempt.job.lease_token
                if attempt.done.is_set() or token is None:
                    continue
                with self._lock:
                    attempt.given_up = True
                released += jobs.release(tx, attempt.job.id, token, now)
        if released:
            log.info("released %d delivery job(s) still under way at shutdown", released)
        return released

    # -- inside ---------------------------------------------------------------------------------

    def _round(self) -> list[_Attempt]:
        with self._round_lock:
            return self._fill()

    def _fill(self) -> list[_Attempt]:
        self.expire()
        policy = self.policy
        with self._lock:
            if self._stopping:
                return []
            free = policy.concurrency - len(self._running)
            per_host = Counter(a.host for a in self._running.values())
            # A job whose timed-out attempt still runs here is not tried again beside it.
            running_jobs = {a.job.id for a in self._running.values()}
        if free <= 0:
            return []
        full = {host for host, n in per_host.items() if n >= policy.per_host}
        hosts: dict[str, str] = {}
        now = self.clock.now_ms()
        with self.db.transaction(write=True) as tx:

            def accept(job: jobs.Job) -> bool:
                if job.id in running_jobs:
                    return False
                host = job.host or _host_of_older_job(tx, job)
                if per_host[host] >= policy.per_host:
                    return False
                per_host[host] += 1
                hosts[job.id] = host
                return True

            claimed = jobs.claim_due(
                tx,
                now,
                policy.lease_ms,
                free,
                kinds=KINDS,
                owner=policy.node_id,
                skip_hosts=full,
                accept=accept,
            )
        return [self._start(job, hosts[job.id]) for job in claimed]

    def _start(self, job: jobs.Job, host: str) -> _Attempt:
        assert job.lease_token is not None
        attempt = _Attempt(job, host, self._monotonic() + self.policy.attempt_timeout_s)
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._running[job.lease_token] = attempt
        if stopping:  # stopped while this round claimed: the lease goes straight back
            attempt.given_up = True
            attempt.done.set()
            with self.db.transaction(write=True) as tx:
                jobs.release(tx, job.id, job.lease_token, self.clock.now_ms())
            return attempt
        thread = threading.Thread(
            target=self._run, args=(attempt,), daemon=True, name=f"delivery-{next(self._names)}"
        )
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: give the lease back, try again later
            with self._lock:
                del self._running[job.lease_token]
            attempt.done.set()
            with self.db.transaction(write=True) as tx:
                jobs.release(tx, job.id, job.lease_token, self.clock.now_ms())
            log.exception("delivery job %s: could not start a thread", job.id)
        return attempt

    def _run(self, attempt: _Attempt) -> None:
        job = attempt.job
        try:
            try:
                outcome = service.attempt(self.db, self.box, self.publisher, self.policy, job)
            except Exception as exc:  # the store, say: worth another try later
                log.exception("delivery job %s: the attempt failed", job.id)
                outcome = Outcome(f"delivery failed: {type(exc).__name__}")
            # Written even when the attempt was given up on meanwhile: the lease token in the
            # UPDATE, not this process's memory, decides whether it still counts.
            service.settle(self.db, self.publisher, self.policy, job, outcome, self.clock.now_ms())
        except Exception:
            log.exception("delivery job %s: could not record the attempt's outcome", job.id)
        finally:
            with self._lock:
                self._running.pop(job.lease_token or "", None)
            attempt.done.set()

    def _give_up(self, attempts: list[_Attempt]) -> int:
        """Write each attempt's timeout (failed, retryable) and stop waiting for it."""
        given_up = 0
        for attempt in attempts:
            with self._lock:
                if attempt.given_up:
                    continue
                attempt.given_up = True
            try:
                outcome = service.timed_out(attempt.job, self.policy)
                service.settle(
                    self.db, self.publisher, self.policy, attempt.job, outcome, self.clock.now_ms()
                )
            except Exception:
                with self._lock:
                    attempt.given_up = False  # the next round tries again
                log.exception("delivery job %s: could not record its timeout", attempt.job.id)
                continue
            given_up += 1
        return given_up


def _host_of_older_job(tx: Tx, job: jobs.Job) -> str:
    """The host of a job queued before jobs had one (migration 7), from its recording."""
    rec = live.get_by_id(tx, job.subject)
    if rec is None or rec.storage_config is None:
        return f"job {job.id}"
    return service.destination_host(orjson.loads(rec.storage_config))
