"""The state machine of a recording (decisions.md, Lifecycle; wire-spec §5.2, §7 item 30).

    INVOKED ──capture begins──▶ RECORDING ⇄ PAUSED ──stop──▶ UPLOADING ──files in──▶ UPLOADED
       │                            │          │                  │
       └──────── stop / failure ────┴──────────┴─── failure ──────┴──────────▶ ERRORED

Only the rules live here; ``service.py`` and ``recorders.py`` apply them to stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from reckit.errors import BadRequest
from reckit.recordings.models import Status

# An API action against a status: the status it leads to, or None for a harmless replay that
# changes nothing (the SDK retries PUTs after timeouts, wire-spec §1.4).
_ACTIONS: dict[tuple[str, str], str | None] = {
    ("pause", Status.RECORDING): Status.PAUSED,
    ("pause", Status.PAUSED): None,
    ("resume", Status.PAUSED): Status.RECORDING,
    ("resume", Status.RECORDING): None,
    ("stop", Status.RECORDING): Status.UPLOADING,
    ("stop", Status.PAUSED): Status.UPLOADING,
    # Nothing was captured yet: there is nothing to upload (decisions.md).
    ("stop", Status.INVOKED): Status.ERRORED,
    ("stop", Status.UPLOADING): None,
    ("stop", Status.UPLOADED): None,
    ("stop", Status.ERRORED): None,
}


def after_action(action: str, status: str) -> str | None:
    """The status ``action`` moves a recording in ``status`` to; None when it is a replay."""
    key = (action, status)
    if key not in _ACTIONS:
        raise BadRequest(f"cannot {action} a recording that is {status}")
    return _ACTIONS[key]


@dataclass(frozen=True)
class Pauses:
    """Paused time so far, and since when the recording is paused (None if it is not)."""

    total_ms: int
    since: int | None

    def pause(self, now_ms: int) -> Pauses:
        return self if self.since is not None else Pauses(self.total_ms, now_ms)

    def resume(self, now_ms: int) -> Pauses:
        if self.since is None:
            return self
        return Pauses(self.total_ms + max(0, now_ms - self.since), None)


def api_caller() -> dict[str, object]:
    # wire-spec §7 item 21: an API call is the app (organisation) acting.
    return {"reason": "API_CALL", "caller": {"type": "ORGANIZATION"}}
