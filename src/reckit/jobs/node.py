"""This node's identity, as the owner of its job leases (jobs/repository.py)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from reckit.db.engine import Database
from reckit.ids import new_uuid
from reckit.jobs import repository as jobs

log = logging.getLogger("reckit.jobs")
NODE_ID_FILE = "node.id"


def load_node_id(data_dir: Path) -> str:
    """This node's ID: read from ``<data_dir>/node.id``, made there on first use. Processes
    racing to make it all end up with the one that was linked in first."""
    path = data_dir / NODE_ID_FILE
    with contextlib.suppress(FileNotFoundError):
        known = path.read_text().strip()
        if known:
            return known
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = data_dir / f".{NODE_ID_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fresh.write_text(new_uuid() + "\n")
    try:
        try:
            os.link(fresh, path)  # atomic, and never replaces an ID another process made
        except FileExistsError:
            if not path.read_text().strip():  # an empty file: a crash while it was written
                os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
    return path.read_text().strip()


def release_own_leases(db: Database, node_id: str, now_ms: int) -> int:
    """At start: give back every job this node was holding when it last stopped."""
    with db.transaction(write=True) as tx:
        released = jobs.release_owned(tx, node_id, now_ms)
    if released:
        log.info("released %d job(s) this node held before it restarted", released)
    return released
