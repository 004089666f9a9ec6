"""The events (docs/spec/webhooks.md, ``recording.statusUpdate`` and Meeting events) and the
outbox: each event is rendered, serialised once (compact JSON, UTF-8 as is: a receiver's
``JSON.stringify(JSON.parse(body))`` gives the same bytes), signed once, and queued as one
delivery job per subscribed webhook, in the caller's transaction. It exists exactly when the
change it reports does.

Called where the changes are written: ``recordings.live_repository.transition`` (every status
a recording enters), the start of a recording (INVOKED), and the media plane's session
functions (capture/service.py). Deliveries of one webhook about one recording (or one session)
share an ordering key: they are sent one at a time, in order."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from reckit.db.engine import Tx
from reckit.ids import new_uuid
from reckit.jobs import repository as jobs
from reckit.meetings import repository as meetings
from reckit.timestamps import format_ms
from reckit.webhooks import repository
from reckit.webhooks.models import KIND
from reckit.webhooks.signing import new_key, sign

RECORDING_STATUS = "recording.statusUpdate"


class RecordingFields(Protocol):
    """What a recording's event reads (recordings/models.py ``StoredRecording`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def app_id(self) -> str: ...
    @property
    def meeting_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def output_file_name(self) -> str: ...
    @property
    def started_time(self) -> int | None: ...
    @property
    def stopped_time(self) -> int | None: ...
    @property
    def file_size(self) -> int | None: ...
    @property
    def recording_duration(self) -> int | None: ...
    @property
    def download_url(self) -> str | None: ...
    @property
    def audio_download_url(self) -> str | None: ...
    @property
    def download_url_expiry(self) -> int | None: ...


def ensure_key(tx: Tx, now_ms: int) -> tuple[str, str]:
    """The signing key, made (and kept in the store) if there is none yet."""
    key = repository.signing_key(tx)
    if key is None:
        repository.add_signing_key(tx, *new_key(), now_ms)
        key = repository.signing_key(tx)
        assert key is not None
    return key


def serialise(body: dict[str, Any]) -> bytes:
    """Compact JSON, non-ASCII as is, no floats (every number in a body is an integer)."""
    return orjson.dumps(body)


def _meeting(tx: Tx, app_id: str, meeting_id: str, session_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": meeting_id}
    times = repository.session_times(tx, session_id) if session_id else None
    if session_id is not None:
        out["sessionId"] = session_id
    m = meetings.get(tx, app_id, meeting_id)
    if m is not None and m.title is not None:
        out["title"] = m.title
    out["status"] = "LIVE"  # as in every documented example, ended meetings included
    if m is not None:
        out["createdAt"] = format_ms(m.created_at)
    if times is not None:
        out["startedAt"] = format_ms(times[0])
        if times[1] is not None:
            out["endedAt"] = format_ms(times[1])
    out["organizedBy"] = {"id": app_id, "name": repository.app_name(tx, app_id) or ""}
    return out


def recording_body(tx: Tx, rec: RecordingFields) -> dict[str, Any]:
    """``recording.statusUpdate`` for the status ``rec`` is in (webhooks.md: keys not yet known
    are omitted)."""
    r: dict[str, Any] = {
        "id": rec.id,
        "recordingId": rec.id,
        "status": rec.status,
        "meetingId": rec.meeting_id,
        "organizationId": rec.app_id,
        "outputFileName": rec.output_file_name,
    }
    if rec.session_id is not None:
        r["roomUUID"] = rec.session_id
    if rec.started_time is not None:
        r["startedTime"] = format_ms(rec.started_time)
    if rec.status in ("UPLOADING", "UPLOADED", "ERRORED"):
        if rec.stopped_time is not None:
            r["stoppedTime"] = format_ms(rec.stopped_time)
        if rec.file_size is not None:
            r["fileSize"] = str(rec.file_size)
    if rec.status in ("UPLOADED", "ERRORED"):
        if rec.recording_duration is not None:
            r["recordingDuration"] = int(rec.recording_duration)
        if rec.download_url is not None:
            r["downloadUrl"] = rec.download_url
        if rec.audio_download_url is not None:
            r["audioDownloadUrl"] = rec.audio_download_url
        if rec.download_url_expiry is not None and rec.download_url is not None:
            r["downloadUrlExpiry"] = format_ms(rec.download_url_expiry)
    return {
        "event": RECORDING_STATUS,
        "recording": r,
        "meeting": _meeting(tx, rec.app_id, rec.meeting_id, rec.session_id),
    }


def emit(
    tx: Tx, app_id: str, event: str, body: dict[str, Any], order: str, now_ms: int
) -> list[str]:
    """Queue ``body`` for every enabled webhook of the app subscribed to ``event``, serialised
    and signed once; deliveries about ``order`` (a recording or session ID) go one at a time
    per webhook, in order. The jobs' IDs."""
    hooks = repository.subscribed(tx, app_id, event)
    if not hooks:
        return []
    data = serialise(body)
    private_pem, _ = ensure_key(tx, now_ms)
    signature = sign(private_pem, data)
    text = data.decode()
    return [
        jobs.add(
            tx,
            KIND,
            w.id,
            {"uuid": new_uuid(), "event": event, "body": text, "signature": signature},
            now_ms,
            host=w.url,
            key=f"webhook:{w.id}:{order}",
        )
        for w in hooks
    ]


def recording_status(tx: Tx, rec: RecordingFields, now_ms: int) -> list[str]:
    """``recording.statusUpdate`` for the status ``rec`` has just entered."""
    if not repository.subscribed(tx, rec.app_id, RECORDING_STATUS):
        return []
    return emit(tx, rec.app_id, RECORDING_STATUS, recording_body(tx, rec), rec.id, now_ms)


def meeting_event(
    tx: Tx,
    event: str,
    app_id: str,
    meeting_id: str,
    session_id: str,
    now_ms: int,
    *,
    reason: str | None = None,
    participant_id: str | None = None,
) -> list[str]:
    """``meeting.started``/``ended``/``participantJoined``/``participantLeft`` of a session."""
    if not repository.subscribed(tx, app_id, event):
        return []
    body: dict[str, Any] = {"event": event, "meeting": _meeting(tx, app_id, meeting_id, session_id)}
    if reason is not None:
        body["reason"] = reason
    if participant_id is not None:
        found = repository.participant(tx, session_id, participant_id)
        p: dict[str, Any] = {"peerId": participant_id}
        if found is not None:
            user_id, name, joined, left = found
            p["userDisplayName"] = name
            p["customParticipantId"] = user_id
            p["joinedAt"] = format_ms(int(joined))  # type: ignore[call-overload]
            if left is not None and event == "meeting.participantLeft":
                p["leftAt"] = format_ms(int(left))  # type: ignore[call-overload]
        body["participant"] = p
    return emit(tx, app_id, event, body, session_id, now_ms)
