"""Recording operations, named after the API's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reckit.clock import Clock
from reckit.db.engine import Tx
from reckit.recordings import render, repository
from reckit.recordings.models import ListQuery


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total_count: int
    start_offset: int
    end_offset: int


def list_recordings(tx: Tx, clock: Clock, app_id: str, q: ListQuery) -> Page:
    total, rows = repository.list_page(tx, app_id, q, clock.now_ms())
    items = [render.list_item(r) for r in rows]
    # decisions.md: 1-based inclusive offsets; both equal the offset when the page is empty.
    offset = q.offset
    if items:
        return Page(items, total, offset + 1, offset + len(items))
    return Page(items, total, offset, offset)
