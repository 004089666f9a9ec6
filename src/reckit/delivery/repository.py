"""Delivery's jobs in the queue (reckit.jobs): one ``deliver`` job per handed-in file of a
recording that has its own storage, about that recording (the job's subject), with the
destination's host for the per-host bound (delivery/runner.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reckit.db.engine import Tx
from reckit.jobs import repository as jobs

DELIVER = "deliver"
KINDS = (DELIVER,)


def queue(
    tx: Tx, recording_id: str, files: Mapping[str, Mapping[str, Any]], host: str, now_ms: int
) -> None:
    """A transfer of each of ``files`` (name → {"key", "size", …}) to ``host``, due now."""
    for name, f in files.items():
        jobs.add(
            tx,
            DELIVER,
            recording_id,
            {"name": name, "key": f["key"], "size": f["size"]},
            now_ms,
            host=host,
        )


def for_recording(tx: Tx, recording_id: str) -> list[jobs.Job]:
    """The recording's transfers, oldest first (other kinds of job about the same recording
    are not delivery's)."""
    return jobs.for_subject(tx, recording_id, KINDS)
