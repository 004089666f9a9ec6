"""``GET /metrics``: Prometheus text (``prometheus_client``), served when ``RECKIT_METRICS=1``.

Two kinds of series:

- what this process saw (``Observed``, kept as each request is answered): requests by route
  template, method and status, their latency, the list query's path per answered list
  request, 503s for a busy store, and the capture real-time factor of each recording whose
  files a recorder handed in through this process (``handed_in``);
- what the store holds, read once per scrape by whichever process answers it
  (``StoreFigures``): recordings by status, delivery and webhook jobs by status (count,
  attempts, the age of the oldest pending), and each live node's built-in recorder slots.

With ``reckit serve --workers N`` (N > 1) each worker keeps its own counts in files under
``PROMETHEUS_MULTIPROC_DIR`` (``run`` in server.py makes the directory for the server's life)
and a scrape, answered by any worker, adds up every worker's files (prometheus_client's
multiprocess mode): the counts are the node's, whichever worker served the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from reckit.capture.service import HandedIn
from reckit.clock import Clock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.delivery.repository import DELIVER
from reckit.nodes import repository as nodes
from reckit.ops import repository as ops
from reckit.recordings.list_query import parse_list_query
from reckit.webhooks.models import KIND as WEBHOOK

LIST_ROUTE = "/accounts/{account_id}/realtime/kit/{app_id}/recordings"
# Requests the store refused for being busy (SQLite's one writer): a 503 from any route but
# the operators' own.
OPS_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The capture real-time factor around 1.0 (real time): a recorder falling behind shows below,
# one stopping late (it learns of a stop at its next poll) a little above.
REALTIME_BUCKETS = (0.5, 0.8, 0.9, 0.95, 0.98, 1.0, 1.02, 1.05, 1.1, 1.25, 1.5, 2.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A node whose heartbeat is older than this is left out of the recorder slots (it is gone).
NODE_STALE_MS = 60_000


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def list_path(query_string: bytes, max_per_page: int) -> str:
    """The path the recordings list takes for this query's filters
    (recordings/repository.py ``list_page``): ``meetings``, ``days``, ``expiry`` or
    ``expiry_days``; ``invalid`` for a query the list refuses."""
    try:
        q = parse_list_query(
            parse_qsl(query_string.decode("latin-1"), keep_blank_values=True), max_per_page
        )
    except Exception:
        return "invalid"
    if q.search is not None or q.meeting_id is not None:
        return "meetings"
    if q.expired is None:
        return "days"
    if not q.statuses and q.start_ms is None and q.end_ms is None:
        return "expiry"
    return "expiry_days"


class StoreFigures(Collector):
    """The store's figures, read in one transaction when scraped."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock.now_ms()
        with self.db.transaction() as tx:
            by_status = ops.recordings_by_status(tx)
            waiting, oldest_wait = ops.waiting_for_a_recorder(tx)
            jobs = ops.jobs_by_kind_and_status(tx)
            known = nodes.all_nodes(tx)
        recordings = GaugeMetricFamily(
            "reckit_recordings", "Recordings in the store, by status", labels=["status"]
        )
        for status, n in sorted(by_status.items()):
            recordings.add_metric([status], n)
        yield recordings

        names = {DELIVER: "delivery", WEBHOOK: "webhook"}
        count = GaugeMetricFamily(
            "reckit_jobs",
            "Delivery and webhook jobs in the store, by queue and status "
            "(pending: waiting or under way; failed: gave up)",
            labels=["queue", "status"],
        )
        attempts = GaugeMetricFamily(
            "reckit_job_attempts",
            "Attempts made so far by the jobs in the store, by queue and status",
            labels=["queue", "status"],
        )
        oldest = GaugeMetricFamily(
            "reckit_job_oldest_pending_age_seconds",
            "Age of the oldest pending job, by queue (0 when none is pending)",
            labels=["queue"],
        )
        pending_age = dict.fromkeys(names.values(), 0.0)
        for f in jobs:
            queue = names.get(f.kind, f.kind)
            count.add_metric([queue, f.status], f.count)
            attempts.add_metric([queue, f.status], f.attempts)
            if f.status == "pending" and f.oldest_created_ms is not None:
                pending_age[queue] = max(0.0, (now - f.oldest_created_ms) / 1000)
        for queue, age in sorted(pending_age.items()):
            oldest.add_metric([queue], age)
        yield count
        yield attempts
        yield oldest

        slots = GaugeMetricFamily(
            "reckit_recorder_slots", "Built-in recorder slots of each live node", labels=["node"]
        )
        in_use = GaugeMetricFamily(
            "reckit_recorder_slots_in_use",
            "Built-in recorder slots in use on each live node",
            labels=["node"],
        )
        for node in known:
            if node.stopped_at is not None or now - node.heartbeat_at > NODE_STALE_MS:
                continue
            if "recorder" in node.roles:
                slots.add_metric([node.id], node.recorder_capacity)
                in_use.add_metric([node.id], node.recorder_in_use)
        yield slots
        yield in_use
        yield GaugeMetricFamily(
            "reckit_recordings_waiting_for_recorder",
            "Recordings started through the API that no recorder has claimed yet "
            "(every recorder busy, or none running); they end ERRORED after "
            "RECKIT_CLAIM_TIMEOUT",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "reckit_recording_oldest_wait_seconds",
            "How long the oldest of those has waited (0 when none waits)",
            value=0.0 if oldest_wait is None else max(0.0, (now - oldest_wait) / 1000),
        )


class Metrics:
    """This process's series and the store's, as one Prometheus page (``render``)."""

    def __init__(self, settings: Settings, db: Database, clock: Clock) -> None:
        self.max_per_page = settings.max_per_page
        own = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "reckit_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "reckit_http_request_duration_seconds",
            "Time to answer a request (until its response starts), by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.list_paths = Counter(
            "reckit_list_queries",
            "Recordings list requests answered with 200, by the path their filters take "
            "(days, meetings, expiry, expiry_days; a page cache hit counts for its path too)",
            ["path"],
            registry=own,
        )
        self.store_busy = Counter(
            "reckit_store_busy",
            "Requests answered 503 because the store was busy: SQLite locked by other writers, or "
            "no pooled PostgreSQL connection free in time",
            registry=own,
        )
        self.capture_realtime = Histogram(
            "reckit_capture_realtime_factor",
            "Media seconds per captured second of each recording whose files were handed in: "
            "the files' duration (probed by the recorder) over the time from capture start to "
            "stop less pauses; 1.0 is real time, below it the recorder fell behind",
            ["kind"],
            buckets=REALTIME_BUCKETS,
            registry=own,
        )
        if multiprocess():
            # Every worker's files; the objects above write theirs.
            self.registry = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
        else:
            self.registry = own
        self.registry.register(StoreFigures(db, clock))

    def observe(self, route: str, method: str, status: int, seconds: float, query: bytes) -> None:
        # A client chooses the method: anything unusual is one label, not a series each.
        method = method if method in METHODS else "other"
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)
        if status == 503 and route not in OPS_ROUTES:
            self.store_busy.inc()
        if route == LIST_ROUTE and method == "GET" and status == 200:
            self.list_paths.labels(list_path(query, self.max_per_page)).inc()

    def handed_in(self, capture: HandedIn) -> None:
        """A recorder handed in a recording's files (routes/capture.py ``complete``)."""
        self.capture_realtime.labels(capture.kind).observe(capture.realtime_factor)

    def render(self) -> bytes:
        return generate_latest(self.registry)
