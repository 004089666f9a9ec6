"""Why a recording waits for a recorder, and the nodes as a tenant may see them: read from the
node registry (``repository.py``: live nodes with the ``recorder`` role, their slots) and the
recorders' claim queue (``reckit.ops.repository``).

A recording waits when it was started through the API (it has a capture ``config``), is
INVOKED and no recorder holds it. Recorders claim the queue oldest first (capture/service.py
``poll``), a page recording (``url``) only by a recorder with a page slot to spare, and the
timers end a recording nobody claimed within the claim timeout ``ERRORED``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reckit.bodies import require_uuid
from reckit.capture.service import is_page, is_page_config
from reckit.db.engine import Tx
from reckit.errors import NotFound
from reckit.nodes import repository as registry
from reckit.nodes.repository import Node
from reckit.ops import repository as ops
from reckit.recordings import live_repository as live
from reckit.timestamps import format_ms

# A node not heard from for this long is gone (its heartbeat is every 5 s: registry.py).
GONE_AFTER_MS = 30_000
# A page recording that free slots have not taken for this long (two heartbeats, ten polls)
# waits for a recorder with a page slot, not for the next poll.
PAGE_GRACE_MS = 10_000
# The reasons of an app's waiting recordings are read from its oldest this many.
APP_REASONS_OF = 100


def state_of(node: Node, now_ms: int) -> str:
    """``up``, ``stopped`` (cleanly) or ``gone`` (no heartbeat for ``GONE_AFTER_MS``)."""
    if node.stopped_at is not None:
        return "stopped"
    return "gone" if now_ms - node.heartbeat_at > GONE_AFTER_MS else "up"


@dataclass(frozen=True)
class Capacity:
    """The live built-in recorders: how many, their slots, and the slots in use."""

    recorders: int
    slots: int
    in_use: int
    free: int


def capacity(nodes: list[Node], now_ms: int) -> Capacity:
    live_recorders = [n for n in nodes if "recorder" in n.roles and state_of(n, now_ms) == "up"]
    return Capacity(
        len(live_recorders),
        sum(n.recorder_capacity for n in live_recorders),
        sum(min(n.recorder_in_use, n.recorder_capacity) for n in live_recorders),
        sum(max(0, n.recorder_capacity - n.recorder_in_use) for n in live_recorders),
    )


def _slots(n: int) -> str:
    return f"{n} slot{'' if n == 1 else 's'}"


def why(cap: Capacity, page: bool, ahead: int, waited_ms: int, *, detail: bool = True) -> str:
    """Why a recording waits: no recorder, every slot busy, none with room for a page, the free
    slots go to recordings ahead of it (how many unless not ``detail``: reasons read alike for
    recordings at different places in the queue), or it is about to be claimed."""
    if cap.recorders == 0:
        return "no built-in recorder is running (a recorder of your own may still claim it)"
    if cap.free == 0:
        return f"every built-in recorder is busy ({cap.in_use} of {_slots(cap.slots)} in use)"
    if page and waited_ms >= PAGE_GRACE_MS:
        return (
            f"no recorder has room for a page recording ({_slots(cap.free)} free, but a page"
            " recording also needs a recorder with a browser to spare)"
        )
    if ahead >= cap.free:
        if not detail:
            return f"{_slots(cap.free)} free, for the recordings that wait ahead of it"
        waits = "waits" if ahead == 1 else "wait"
        return f"{_slots(cap.free)} free, for the {ahead} recording(s) that {waits} ahead of it"
    return f"{_slots(cap.free)} free: a recorder should claim it within seconds"


def recording_waiting(
    tx: Tx, now_ms: int, app_id: str, recording_id: str, claim_timeout_ms: int
) -> dict[str, Any]:
    """Whether the app's recording waits for a recorder, why, and since when (404 for a
    recording of another app)."""
    rid = require_uuid("recording_id", recording_id)
    rec = live.get(tx, app_id, rid)
    if rec is None:
        raise NotFound(f"Recording {rid} not found")
    out: dict[str, Any] = {
        "waiting": False,
        "reason": None,
        "since": None,
        "claim_timeout_s": round(claim_timeout_ms / 1000),
    }
    if rec.status != "INVOKED" or rec.recorder_id is not None or rec.config is None:
        return out
    waited = max(0, now_ms - rec.invoked_time)
    cap = capacity(registry.all_nodes(tx), now_ms)
    core = why(cap, is_page(rec), ops.waiting_ahead_of(tx, rec.invoked_time), waited)
    since = format_ms(rec.invoked_time)
    out.update(
        waiting=True,
        since=since,
        reason=f"{core}. It has waited since {since} ({waited // 1000} s) and ends ERRORED if"
        f" no recorder claims it within {out['claim_timeout_s']} s of its start.",
    )
    return out


def _node(node: Node, now_ms: int) -> dict[str, Any]:
    """A node as a tenant sees it: no hostname, pid or URL (the infrastructure's addresses)."""
    recorder = "recorder" in node.roles
    return {
        "id": node.id,
        "state": state_of(node, now_ms),
        "roles": list(node.roles),
        "recorder_slots": node.recorder_capacity if recorder else None,
        "recorder_slots_in_use": node.recorder_in_use if recorder else None,
        "heartbeat_at": format_ms(node.heartbeat_at),
        "seconds_since_heartbeat": max(0, (now_ms - node.heartbeat_at) // 1000),
    }


def app_nodes(tx: Tx, now_ms: int, app_id: str, claim_timeout_ms: int) -> dict[str, Any]:
    """The nodes sharing the store (the most recently heard from first), and how many of the
    app's recordings wait for a recorder, since when and why (each reason with how many)."""
    known = registry.all_nodes(tx)
    cap = capacity(known, now_ms)
    oldest = ops.waiting_in_app(tx, app_id, APP_REASONS_OF)
    reasons: dict[str, int] = {}
    for w in oldest:
        waited = max(0, now_ms - w.invoked_time)
        reason = why(cap, is_page_config(w.config), w.ahead, waited, detail=False)
        reasons[reason] = reasons.get(reason, 0) + 1
    count = len(oldest)
    if count == APP_REASONS_OF:
        count = ops.waiting_count_in_app(tx, app_id)
    return {
        "nodes": [_node(n, now_ms) for n in known],
        "waiting": {
            "count": count,
            "since": format_ms(oldest[0].invoked_time) if oldest else None,
            "reasons": [{"reason": r, "count": n} for r, n in reasons.items()],
            "claim_timeout_s": round(claim_timeout_ms / 1000),
        },
    }
