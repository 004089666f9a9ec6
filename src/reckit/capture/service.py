"""The recorder API's operations (docs/recorder-api.md): recorders claim recordings, learn what
to do with them, report what happened, and hand in files; the media plane reports sessions.

The server holds the truth: a recording's status says what its recorder must be doing
(RECORDING: capture; PAUSED: hold; UPLOADING: finish and hand in; ERRORED or gone: drop it).
A recorder polls twice a second, so a pause, resume or stop reaches it within a second; the
poll is also its heartbeat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from reckit.capture.bodies import FileEntry
from reckit.capture.liveness import Stalls
from reckit.config import Settings
from reckit.db.engine import Tx
from reckit.delivery.service import Publisher, files_in, purge_expired
from reckit.errors import BadRequest, FilesFinal, NotFound
from reckit.meetings import repository as meetings
from reckit.recordings import lifecycle
from reckit.recordings import live_repository as live
from reckit.recordings.lifecycle import Event
from reckit.recordings.models import TERMINAL, Status, StoredRecording
from reckit.recordings.service import start_on_join
from reckit.sessions import repository as sessions
from reckit.webhooks import events as webhook_events

log = logging.getLogger("reckit.capture")


@dataclass(frozen=True)
class Timers:
    recorder_timeout_ms: int
    empty_room_ms: int
    retention_ms: int
    claim_timeout_ms: int


def timers(s: Settings) -> Timers:
    return Timers(
        recorder_timeout_ms=int(s.recorder_timeout_s * 1000),
        empty_room_ms=int(s.empty_room_s * 1000),
        retention_ms=int(s.retention_days * 86_400_000),
        claim_timeout_ms=int(s.claim_timeout_s * 1000),
    )


def _assignment(tx: Tx, rec: StoredRecording) -> dict[str, Any]:
    session = (
        sessions.get(tx, rec.session_id)
        if rec.session_id
        else sessions.live_for_meeting(tx, rec.app_id, rec.meeting_id)
    )
    sources: list[dict[str, Any]] = []
    if session is not None and rec.kind == "track":
        wanted = set(orjson.loads(rec.user_ids)) if rec.user_ids else None
        for s in sessions.sources(tx, session.id):
            if wanted is None or (s.user_id or s.participant_id) in wanted:
                sources.append(
                    {"participant_id": s.participant_id, "user_id": s.user_id, "url": s.media_url}
                )
    return {
        "id": rec.id,
        "app_id": rec.app_id,
        "meeting_id": rec.meeting_id,
        "kind": rec.kind,
        "status": rec.status,
        "output_file_name": rec.output_file_name,
        "config": orjson.loads(rec.config) if rec.config else None,
        # None: the meeting has no media plane; the recorder uses its synthetic source.
        "source_url": session.media_url if session is not None else None,
        "sources": sources,
    }


def is_page(rec: StoredRecording) -> bool:
    """Whether the recording records a web page (``url``): a browser, so it costs far more than
    a composite recording, and only a recorder that says it has room takes it."""
    return is_page_config(rec.config)


def is_page_config(stored: str | None) -> bool:
    """Whether a recording's stored capture ``config`` (JSON) names a page ``url``."""
    if not stored:
        return False
    config = orjson.loads(stored)
    return isinstance(config, dict) and bool(config.get("url"))


# A poll looks this many recordings past its free capacity, so that page recordings it has no
# room for do not hide the others behind them.
CLAIM_LOOKAHEAD = 32


def poll(
    tx: Tx,
    now: int,
    recorder: str,
    capacity: int,
    holding: list[str],
    instance: str | None = None,
    page_slots: int | None = None,
) -> list[dict[str, Any]]:
    """Heartbeat for the held recordings, claims of new ones up to ``capacity``, and the
    current state of each. A recording this recorder holds in the store but does not report:
    if this same run claimed it and it has not started, the answer to the poll that claimed it
    was lost, and it is offered again; otherwise the recorder restarted and lost it: ERRORED.
    Page recordings are claimed only up to ``page_slots`` (admission by cost: the others wait
    INVOKED for a recorder with room, within the claim timeout)."""
    held = {r.id: r for r in live.held_by(tx, recorder)}
    offered: list[StoredRecording] = []
    for rec in held.values():
        if rec.id in holding:
            continue
        if (
            instance is not None
            and rec.recorder_instance == instance
            and (rec.status == Status.INVOKED)
        ):
            offered.append(rec)
        else:
            fail(tx, now, rec, f"recorder {recorder} no longer holds it (restarted?)")
    live.heartbeat(
        tx, [rid for rid in holding if rid in held] + [r.id for r in offered], recorder, now
    )
    out: list[dict[str, Any]] = [_assignment(tx, r) for r in offered]
    for rid in holding:
        mine = held.get(rid) or live.get_by_id(tx, rid)
        # Gone, finished, handed in (the server's now) or someone else's: the recorder drops it.
        if (
            mine is None
            or mine.recorder_id != recorder
            or mine.status in TERMINAL
            or mine.files is not None
        ):
            out.append({"id": rid, "status": mine.status if mine else "GONE"})
        else:
            out.append(_assignment(tx, mine))
    free = capacity - len(holding) - len(offered)
    pages = page_slots or 0
    if free > 0:
        for rec in live.claimable(tx, free + CLAIM_LOOKAHEAD):
            if free <= 0:
                break
            page = is_page(rec)
            if page and pages <= 0:
                continue
            if live.claim(tx, rec.id, recorder, instance, now):
                out.append(_assignment(tx, rec))
                free -= 1
                pages -= page
    return out


def _held(tx: Tx, recorder: str, recording_id: str) -> StoredRecording:
    rec = live.get_by_id(tx, recording_id, lock=True)
    if rec is None or rec.recorder_id != recorder:
        raise NotFound(f"Recording {recording_id} is not held by recorder {recorder}")
    return rec


def started(tx: Tx, now: int, recorder: str, recording_id: str) -> dict[str, Any]:
    """Capture began: INVOKED → RECORDING, with the session it records (wire-spec §5.2)."""
    rec = _held(tx, recorder, recording_id)
    if lifecycle.target(rec.status, Event.BEGAN) is not None:  # else begun already, or ended
        session = sessions.live_for_meeting(tx, rec.app_id, rec.meeting_id)
        _apply(tx, rec, lifecycle.began(rec, now, session.id if session else None), now)
    after = live.get_by_id(tx, recording_id)
    assert after is not None
    return _assignment(tx, after)


def stopped(
    tx: Tx, now: int, recorder: str, recording_id: str, reason: str, crashed: bool
) -> dict[str, Any]:
    """The recorder stopped the recording, nobody else did: the page it records ended it, or its
    browser died. RECORDING or PAUSED → UPLOADING (what was captured is handed in);
    ``stop_reason`` without a reason, or INTERNAL_ERROR when the browser died."""
    rec = _held(tx, recorder, recording_id)
    log.info("recording %s stopped by its recorder: %s", rec.id, reason)
    why: dict[str, Any] = {"reason": "INTERNAL_ERROR"} if crashed else {}
    _apply(tx, rec, lifecycle.recorder_stopped(rec, now, why), now)
    after = live.get_by_id(tx, recording_id)
    assert after is not None
    return {"id": after.id, "status": after.status}


def _apply(tx: Tx, rec: StoredRecording, change: lifecycle.Change | None, now: int) -> bool:
    """Write ``change``; False when there is none, or the recording changed meanwhile."""
    return change is not None and live.transition(tx, rec, change, now)


def _errored(
    tx: Tx, rec: StoredRecording, change: lifecycle.Change | None, reason: str, now: int
) -> bool:
    if change is None:  # final already
        return False
    log.warning("recording %s errored: %s", rec.id, reason)
    return live.transition(tx, rec, change, now)


def fail(tx: Tx, now: int, rec: StoredRecording, reason: str) -> bool:
    """Any state that is not final → ERRORED, with the reason kept (wire-spec §7 item 21)."""
    return _errored(tx, rec, lifecycle.failed(rec, now, reason), reason, now)


def failed(tx: Tx, now: int, recorder: str, recording_id: str, reason: str) -> None:
    rec = _held(tx, recorder, recording_id)
    if rec.files is not None:
        # Handed in: the recording is the server's, and its recorder can no longer fail it.
        raise FilesFinal(
            f"Recording {recording_id} has its files already: its recorder can no longer fail it"
        )
    fail(tx, now, rec, reason or "the recorder failed")


def file_key(tx: Tx, recorder: str, recording_id: str, name: str) -> str:
    """The bucket key a recorder may still write ``name`` of its recording to: none once the
    files are handed in, so that a signed link always serves the bytes its ``file_size``
    describes."""
    rec = _held(tx, recorder, recording_id)
    if rec.files is not None:
        raise FilesFinal(
            f"Recording {recording_id} has its files already: none can be replaced or added"
        )
    return _key(rec, name)


def _key(rec: StoredRecording, name: str) -> str:
    return f"{rec.app_id}/{rec.id}/{name}"


@dataclass(frozen=True)
class HandedIn:
    """What a hand-in tells of the capture: the media's duration (the recorder probes its
    files) against the wall time the recording was captured for (``started_time`` to
    ``stopped_time``, less its pauses: what a recorder keeping up in real time would have
    written). ``kind``: ``composite``, ``track`` or ``page`` (a web page's recording)."""

    kind: str
    media_s: float
    captured_s: float

    @property
    def realtime_factor(self) -> float:
        """Media seconds per captured second: 1.0 in real time, below it when the recorder
        fell behind (dropped frames, a starved encoder), above it when it stopped late."""
        return self.media_s / self.captured_s


def handed_in(rec: StoredRecording, duration_s: float) -> HandedIn | None:
    """None when the recording has no capture time to measure against (it never began, or
    stopped at once)."""
    if rec.started_time is None or rec.stopped_time is None:
        return None
    captured_ms = rec.stopped_time - rec.started_time - rec.paused_ms
    if captured_ms <= 0 or duration_s <= 0:
        return None
    kind = "page" if is_page(rec) else rec.kind
    return HandedIn(kind, duration_s, captured_ms / 1000)


def complete(
    tx: Tx,
    now: int,
    recorder: str,
    recording_id: str,
    entries: dict[str, FileEntry],
    duration_s: float,
    publisher: Publisher,
) -> HandedIn | None:
    """Files are in: each measured in the bucket (the recorder's word is not needed), then on
    to delivery, or UPLOADED at once (wire-spec §5.2). Returns what the hand-in tells of the
    capture (``HandedIn``; None for a replay, which was counted the first time)."""
    rec = _held(tx, recorder, recording_id)
    if rec.files is not None:
        return None  # a replay (the answer to the first was lost): the files are in already
    lifecycle.target(rec.status, Event.FILES_IN)  # refused unless UPLOADING
    if not entries:
        raise BadRequest.field("files", "must name at least one file")
    files = {}
    for name, entry in entries.items():
        key = _key(rec, name)
        stored = publisher.bucket.stat(key)
        if stored is None:
            raise BadRequest.field(f"files.{name}", "has not been uploaded")
        files[name] = {
            "key": key,
            "size": stored.size,
            "sha256": stored.sha256,
            "role": entry.role,
            "participant_id": entry.participant_id,
            "user_id": entry.user_id,
            "duration_s": entry.duration_s,
        }
    _track_owners(tx, rec, files, duration_s)
    files_in(tx, now, rec, files, duration_s, publisher)
    return handed_in(rec, duration_s)


def _track_owners(
    tx: Tx, rec: StoredRecording, files: dict[str, dict[str, Any]], duration_s: float
) -> None:
    """Each track file names its participant's user (from the session when the recorder did
    not say) and its duration (the recording's when the recorder did not say)."""
    tracks = [f for f in files.values() if f.get("role") == "track"]
    if not tracks:
        return
    users: dict[str, str | None] = {}
    if rec.session_id is not None:
        users = {s.participant_id: s.user_id for s in sessions.sources(tx, rec.session_id)}
    for f in tracks:
        if f.get("user_id") is None:
            f["user_id"] = users.get(f.get("participant_id") or "")
        if f.get("duration_s") is None:
            f["duration_s"] = duration_s


def sweep(tx: Tx, now: int, timers: Timers, publisher: Publisher, stalls: Stalls) -> int:
    """The timers of wire-spec §5.2: ``max_seconds`` (wall-clock from ``started_time``, pauses
    included, §7 item 30b), the empty room, silent recorders, recordings no recorder claimed,
    and retention (§5.4). Silence and waiting count only the time this server could listen
    (``stalls``: liveness.py). Returns how many recordings changed."""
    changed = purge_expired(tx, now, publisher)
    for rec in live.past_max_seconds(tx, now):
        changed += _apply(tx, rec, lifecycle.max_seconds_reached(rec), now)
    for rec in live.in_empty_rooms(tx, now - timers.empty_room_ms):
        changed += _apply(tx, rec, lifecycle.room_empty(rec, now), now)
    timeout = timers.recorder_timeout_ms
    for rec in live.silent_recorders(tx, now - timeout):
        assert rec.heartbeat_at is not None
        if stalls.healthy_ms(rec.heartbeat_at, now) >= timeout:
            changed += fail(tx, now, rec, f"recorder {rec.recorder_id} stopped responding")
    wait = timers.claim_timeout_ms
    for rec in live.unclaimed_since(tx, now - wait):
        if stalls.healthy_ms(rec.invoked_time, now) >= wait:
            # RealtimeKit gives a recording app the same 120 s to start (RECKIT_CLAIM_TIMEOUT).
            reason = (
                f"no recorder claimed it within {wait / 1000:g} s"
                " (none is running, or every one is at capacity)"
            )
            changed += _errored(tx, rec, lifecycle.unclaimed(rec, now, reason), reason, now)
    return changed


# --- sessions, as the media plane reports them --------------------------------------------


def session_started(
    tx: Tx, now: int, app_id: str, meeting_id: str, session_id: str, media_url: str | None
) -> None:
    existing = sessions.get(tx, session_id)
    if existing is not None:
        if (existing.app_id, existing.meeting_id) != (app_id, meeting_id):
            raise BadRequest(f"session {session_id} belongs to another meeting")
        return  # a replay
    if meetings.get(tx, app_id, meeting_id) is None:
        raise NotFound(f"Meeting {meeting_id} not found in app {app_id}")
    sessions.insert(tx, session_id, app_id, meeting_id, media_url, now)
    webhook_events.meeting_event(tx, "meeting.started", app_id, meeting_id, session_id, now)


def _session(tx: Tx, session_id: str) -> sessions.Session:
    session = sessions.get(tx, session_id)
    if session is None:
        raise NotFound(f"Session {session_id} not found")
    return session


def participant_joined(tx: Tx, now: int, session_id: str, source: sessions.Source) -> None:
    session = _session(tx, session_id)
    if session.ended_at is not None:
        raise BadRequest(f"session {session_id} has ended")
    if not sessions.join(tx, session_id, source, now):
        return
    webhook_events.meeting_event(
        tx,
        "meeting.participantJoined",
        session.app_id,
        session.meeting_id,
        session_id,
        now,
        participant_id=source.participant_id,
    )
    if session.participants == 0:
        # The first one in: record_on_start (wire-spec §4.1).
        start_on_join(tx, now, session.app_id, session.meeting_id)


def participant_left(tx: Tx, now: int, session_id: str, participant_id: str) -> None:
    session = _session(tx, session_id)
    if sessions.leave(tx, session_id, participant_id, now):
        webhook_events.meeting_event(
            tx,
            "meeting.participantLeft",
            session.app_id,
            session.meeting_id,
            session_id,
            now,
            participant_id=participant_id,
        )


def session_ended(tx: Tx, now: int, session_id: str) -> None:
    session = _session(tx, session_id)
    if session.ended_at is not None:
        return  # a replay
    sessions.end(tx, session_id, now)
    # Ended by the media plane with nobody left in it: the room emptied; else the host ended it.
    reason = "ALL_PARTICIPANTS_LEFT" if session.participants == 0 else "HOST_ENDED_MEETING"
    webhook_events.meeting_event(
        tx, "meeting.ended", session.app_id, session.meeting_id, session_id, now, reason=reason
    )
