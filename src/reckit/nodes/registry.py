"""This node's row in the registry (``repository.py``), kept fresh while it runs: registered at
start with its roles, a heartbeat every ``HEARTBEAT_S`` with its built-in recorder's slots in
use, marked stopped when it stops cleanly. A node that dies simply stops beating."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from reckit.clock import Clock
from reckit.db.engine import Database
from reckit.nodes import repository as nodes

log = logging.getLogger("reckit.nodes")
HEARTBEAT_S = 5.0


class NodeRegistry:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        node_id: str,
        roles: tuple[str, ...],
        *,
        url: str | None = None,
        recorder_capacity: int = 0,
        in_use: Callable[[], int] = lambda: 0,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.db = db
        self.clock = clock
        self.node_id = node_id
        self.roles = roles
        self.url = url
        self.recorder_capacity = recorder_capacity
        self.in_use = in_use
        self.heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self.db.transaction(write=True) as tx:
            nodes.register(
                tx,
                self.node_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                roles=self.roles,
                url=self.url,
                recorder_capacity=self.recorder_capacity,
                now_ms=self.clock.now_ms(),
            )
        log.info("node %s registered with roles %s", self.node_id, ",".join(self.roles))
        self._thread = threading.Thread(target=self._beat, name="node-heartbeat", daemon=True)
        self._thread.start()

    def beat_once(self) -> None:
        with self.db.transaction(write=True) as tx:
            nodes.heartbeat(tx, self.node_id, self.in_use(), self.clock.now_ms())

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.beat_once()
            except Exception as exc:  # the store away for a while: beat again later
                log.warning("node heartbeat failed (%s); trying again", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            with self.db.transaction(write=True) as tx:
                nodes.stopped(tx, self.node_id, self.clock.now_ms())
        except Exception as exc:
            log.warning("could not mark node %s stopped (%s)", self.node_id, type(exc).__name__)
