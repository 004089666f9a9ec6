"""The state machine of a recording (decisions.md, Lifecycle; wire-spec §5.2, §7 items 21, 30).

    INVOKED ──began──▶ RECORDING ──pause──▶ PAUSED
       │                  │    ◀──resume───    │
       │                  └─────────┬──────────┘
       │              stop · max_seconds · empty_room
       │                            ▼
       │                        UPLOADING ──delivered──▶ UPLOADED
       │                         │     ↺ files_in
       ▼                         ▼
    ERRORED ◀── stop, unclaimed (from INVOKED) · failed (from INVOKED, RECORDING, PAUSED,
                UPLOADING) · given_up (from UPLOADING)

Every change of a recording's status is decided here, by one function per event, and nowhere
else: each takes the recording as read and returns the ``Change`` to write (the new status and
the fields that become known) or None when the event changes nothing (a replay: the SDK retries
PUTs after timeouts, wire-spec §1.4; or news that came too late). ``TRANSITIONS`` is the one
table every function checks; an event it does not list for the recording's status is refused
(``Refused``, a 400 where a client sent it). ``live_repository.transition`` is the one writer.

The table, as ``describe()`` prints it (tests/recordings/test_transitions.py keeps the two
the same):

    INVOKED    began        -> RECORDING
    INVOKED    stop         -> ERRORED
    INVOKED    failed       -> ERRORED
    INVOKED    unclaimed    -> ERRORED
    RECORDING  began        -> (replay)
    RECORDING  pause        -> PAUSED
    RECORDING  resume       -> (replay)
    RECORDING  stop         -> UPLOADING
    RECORDING  max_seconds  -> UPLOADING
    RECORDING  empty_room   -> UPLOADING
    RECORDING  failed       -> ERRORED
    PAUSED     began        -> (replay)
    PAUSED     pause        -> (replay)
    PAUSED     resume       -> RECORDING
    PAUSED     stop         -> UPLOADING
    PAUSED     max_seconds  -> UPLOADING
    PAUSED     empty_room   -> UPLOADING
    PAUSED     failed       -> ERRORED
    UPLOADING  began        -> (replay)
    UPLOADING  stop         -> (replay)
    UPLOADING  files_in     -> UPLOADING
    UPLOADING  delivered    -> UPLOADED
    UPLOADING  given_up     -> ERRORED
    UPLOADING  failed       -> ERRORED
    UPLOADED   began        -> (replay)
    UPLOADED   stop         -> (replay)
    UPLOADED   failed       -> (replay)
    ERRORED    began        -> (replay)
    ERRORED    stop         -> (replay)
    ERRORED    failed       -> (replay)

Who sends which event: the API (``recordings/service.py``) pause, resume and stop; the recorder
API (``capture/service.py``) began, files_in and failed, and its timers max_seconds,
empty_room, unclaimed and failed (a silent recorder); delivery (``delivery/service.py``)
delivered and given_up. These functions are pure: no clock, no store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from reckit.errors import BadRequest
from reckit.recordings.models import Status, StoredRecording


class Event(StrEnum):
    """What happens to a recording, in the order it usually happens. The API's actions are
    pause, resume and stop (wire-spec §3.6, §7 item 30); the timers' are max_seconds,
    empty_room and unclaimed (wire-spec §5.2)."""

    BEGAN = "began"  # the recorder began capturing
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    MAX_SECONDS = "max_seconds"
    EMPTY_ROOM = "empty_room"
    FILES_IN = "files_in"  # the recorder handed its files in, measured
    DELIVERED = "delivered"  # every copy is confirmed
    GIVEN_UP = "given_up"  # a destination kept failing
    FAILED = "failed"  # the recorder failed, lost the recording, or went silent
    UNCLAIMED = "unclaimed"  # no recorder claimed it in time


_I, _R, _P = Status.INVOKED, Status.RECORDING, Status.PAUSED
_U, _D, _E = Status.UPLOADING, Status.UPLOADED, Status.ERRORED
_LIVE = (_I, _R, _P, _U)
LIFECYCLE_ORDER = (_I, _R, _P, _U, _D, _E)

# (status, event) → the status it leads to; None: allowed, and nothing changes. Every pair not
# listed is refused.
TRANSITIONS: Mapping[tuple[Status, Event], Status | None] = {
    (_I, Event.BEGAN): _R,
    **{(s, Event.BEGAN): None for s in (_R, _P, _U, _D, _E)},  # already begun, or ended
    (_R, Event.PAUSE): _P,
    (_P, Event.PAUSE): None,
    (_P, Event.RESUME): _R,
    (_R, Event.RESUME): None,
    (_R, Event.STOP): _U,
    (_P, Event.STOP): _U,
    # Nothing was captured yet: there is nothing to upload (decisions.md).
    (_I, Event.STOP): _E,
    **{(s, Event.STOP): None for s in (_U, _D, _E)},
    # wire-spec §7 item 30b: pauses do not extend max_seconds; the empty room counts while paused.
    **{(s, e): _U for s in (_R, _P) for e in (Event.MAX_SECONDS, Event.EMPTY_ROOM)},
    (_U, Event.FILES_IN): _U,
    (_U, Event.DELIVERED): _D,
    (_U, Event.GIVEN_UP): _E,
    **{(s, Event.FAILED): _E for s in _LIVE},
    **{(s, Event.FAILED): None for s in (_D, _E)},  # final already: a failure changes nothing
    (_I, Event.UNCLAIMED): _E,
}

# How a refusal names the event: "cannot <verb> a recording that is <status>".
_VERBS = {
    Event.BEGAN: "begin capturing",
    Event.FILES_IN: "complete",
    Event.FAILED: "fail",
    Event.MAX_SECONDS: "stop at max_seconds",
    Event.EMPTY_ROOM: "stop for an empty room",
    Event.UNCLAIMED: "end unclaimed",
    Event.DELIVERED: "deliver",
    Event.GIVEN_UP: "give up delivering",
}


class Refused(BadRequest):
    """The event is not allowed in the recording's status (not in ``TRANSITIONS``)."""

    def __init__(self, status: str, event: Event) -> None:
        super().__init__(f"cannot {_VERBS.get(event, event.value)} a recording that is {status}")
        self.status, self.event = status, event


@dataclass(frozen=True)
class Change:
    """What ``event`` does to a recording read in ``source``: it becomes ``status`` (which may
    be ``source``: files_in), with ``fields`` set. Made only by the functions below; written
    only by ``live_repository.transition``."""

    event: Event
    source: Status
    status: Status
    fields: Mapping[str, Any]


def allowed(status: str, event: Event) -> bool:
    """Whether ``event`` may happen to a recording in ``status`` (a replay included)."""
    return (Status(status), event) in TRANSITIONS


def target(status: str, event: Event) -> Status | None:
    """The status ``event`` moves a recording in ``status`` to; None when it changes nothing.
    Refused when the table does not allow it."""
    key = (Status(status), event)
    if key not in TRANSITIONS:
        raise Refused(status, event)
    return TRANSITIONS[key]


def _change(rec: StoredRecording, event: Event, **fields: Any) -> Change | None:
    to = target(rec.status, event)
    return None if to is None else Change(event, Status(rec.status), to, fields)


def describe() -> str:
    """The table, one allowed pair a line, in lifecycle order (statuses, then events)."""
    lines = []
    for status in LIFECYCLE_ORDER:
        for event in Event:
            if (status, event) in TRANSITIONS:
                to = TRANSITIONS[(status, event)]
                lines.append(f"{status:<10} {event:<12} -> {to or '(replay)'}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Pauses:
    """Paused time so far, and since when the recording is paused (None if it is not)."""

    total_ms: int
    since: int | None

    @classmethod
    def of(cls, rec: StoredRecording) -> Pauses:
        return cls(rec.paused_ms, rec.paused_at)

    def pause(self, now_ms: int) -> Pauses:
        return self if self.since is not None else Pauses(self.total_ms, now_ms)

    def resume(self, now_ms: int) -> Pauses:
        if self.since is None:
            return self
        return Pauses(self.total_ms + max(0, now_ms - self.since), None)


def api_caller() -> dict[str, object]:
    # wire-spec §7 item 21: an API call is the app (organisation) acting.
    return {"reason": "API_CALL", "caller": {"type": "ORGANIZATION"}}


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


# --- the API's actions ----------------------------------------------------------------------

_ACTIONS = {e.value: e for e in (Event.PAUSE, Event.RESUME, Event.STOP)}


def act(rec: StoredRecording, action: str, now: int) -> Change | None:
    """``PUT …/recordings/{id}``: pause, resume or stop (wire-spec §3.6, §7 item 30)."""
    event = _ACTIONS.get(action)
    if event is None:
        raise BadRequest(f"unknown action {action!r}")
    if event == Event.STOP:
        return _stopped(rec, event, now, api_caller())
    pauses = Pauses.of(rec)
    if event == Event.PAUSE:
        return _change(rec, event, paused_at=pauses.pause(now).since)
    return _change(rec, event, paused_ms=pauses.resume(now).total_ms, paused_at=None)


def _stopped(rec: StoredRecording, event: Event, at: int, reason: dict[str, Any]) -> Change | None:
    """A stop at ``at``: the pause under way (if any) ends then."""
    if target(rec.status, event) == Status.ERRORED:  # stopped before capture began
        return _change(
            rec, event, stop_reason=_json(reason), error_reason="stopped before capture began"
        )
    return _change(
        rec,
        event,
        paused_ms=Pauses.of(rec).resume(at).total_ms,
        paused_at=None,
        stopped_time=at,
        stop_reason=_json(reason),
    )


# --- the recorder and the timers ---------------------------------------------------------


def began(rec: StoredRecording, now: int, session_id: str | None) -> Change | None:
    """Capture began, recording ``session_id`` (wire-spec §5.2)."""
    return _change(rec, Event.BEGAN, started_time=now, session_id=session_id)


def recorder_stopped(rec: StoredRecording, now: int, reason: dict[str, Any]) -> Change | None:
    """Its recorder stopped it (a page recording's page ended, or its browser died): like the
    API's stop, with ``reason`` as the stop_reason."""
    return _stopped(rec, Event.STOP, now, reason)


def max_seconds_reached(rec: StoredRecording) -> Change | None:
    """Stopped at ``started_time + max_seconds`` (wall-clock: pauses included, §7 item 30b);
    the stop_reason carries no reason (§7 item 21)."""
    target(rec.status, Event.MAX_SECONDS)  # refused before capture began
    assert rec.started_time is not None and rec.max_seconds is not None
    return _stopped(rec, Event.MAX_SECONDS, rec.started_time + rec.max_seconds * 1000, {})


def room_empty(rec: StoredRecording, now: int) -> Change | None:
    """The room has been empty for the empty-room timeout: stopped now (ALL_PEERS_LEFT)."""
    return _stopped(rec, Event.EMPTY_ROOM, now, {"reason": "ALL_PEERS_LEFT"})


def files_in(
    rec: StoredRecording, files: Mapping[str, Mapping[str, Any]], duration_s: float
) -> Change | None:
    """The recorder handed its files in (``files``: name → {"key", "size", "sha256", "role"},
    measured by the server): the size is the main file's (the audio file's when it is the only
    one), the duration is whole seconds (decisions.md)."""
    main = next((f for f in files.values() if f.get("role") != "audio"), None)
    primary = main or next(iter(files.values()))
    return _change(
        rec,
        Event.FILES_IN,
        files=_json(files),
        file_size=int(primary["size"]),
        recording_duration=max(0, int(duration_s)),
    )


def _failure(rec: StoredRecording, event: Event, now: int, reason: str) -> Change | None:
    return _change(
        rec,
        event,
        error_reason=reason[:1000],
        stop_reason=_json({"reason": "INTERNAL_ERROR"}),
        stopped_time=rec.stopped_time
        if rec.stopped_time is not None
        else (now if rec.started_time is not None else None),
    )


def failed(rec: StoredRecording, now: int, reason: str) -> Change | None:
    """An irrecoverable failure (wire-spec §7 item 21): ERRORED with the reason; nothing for a
    recording that is final already."""
    return _failure(rec, Event.FAILED, now, reason)


def unclaimed(rec: StoredRecording, now: int, reason: str) -> Change | None:
    """No recorder claimed it within the claim timeout: ERRORED, its meeting free again."""
    return _failure(rec, Event.UNCLAIMED, now, reason)


# --- delivery -------------------------------------------------------------------------------

# What a bucket copy's links set (delivery/service.py ``Publisher.download_fields``).
LINK_FIELDS = frozenset({"download_url", "audio_download_url", "download_url_expiry", "files"})


def _links(links: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(links) - LINK_FIELDS
    if unknown:
        raise ValueError(f"not link fields: {sorted(unknown)}")
    return dict(links)


def delivered(rec: StoredRecording, now: int, links: Mapping[str, Any] | None) -> Change | None:
    """Every copy is confirmed: UPLOADED, with ``links`` to the bucket copy, or (``links``
    None: the bucket is not enabled) with the bucket copy deleted now."""
    if links is None:
        return _change(rec, Event.DELIVERED, purged_at=now)
    return _change(rec, Event.DELIVERED, **_links(links))


def given_up(rec: StoredRecording, reason: str, links: Mapping[str, Any]) -> Change | None:
    """A destination kept failing: ERRORED with the reason, and the bucket copy stays
    downloadable through ``links`` (whatever the bucket setting: it is the only copy left)."""
    return _change(rec, Event.GIVEN_UP, error_reason=reason, **_links(links))
