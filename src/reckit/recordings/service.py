"""Recording operations, named after the API's."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from reckit import bodies
from reckit import recording_options as options
from reckit.apps import repository as apps_repo
from reckit.clock import Clock
from reckit.crypto import SecretBox
from reckit.db.engine import Tx
from reckit.errors import BadRequest, NotFound
from reckit.ids import new_uuid
from reckit.meetings import service as meetings
from reckit.meetings.service import Meeting
from reckit.paging import Page
from reckit.recordings import lifecycle, render, repository
from reckit.recordings import live_repository as live
from reckit.recordings.lifecycle import api_caller
from reckit.recordings.models import ListQuery, NewRecording, Status, StoredRecording
from reckit.sessions import repository as sessions
from reckit.webhooks import events as webhook_events


def list_recordings(tx: Tx, clock: Clock, app_id: str, q: ListQuery) -> Page[str]:
    """The page, each item as JSON text: stored with its row (list_sql.LIST_COLUMNS)."""
    total, rows = repository.list_page(tx, app_id, q, clock.now_ms())
    items = [item if item is not None else _rendered_now(tx, rid) for rid, _, item in rows]
    return Page.at(items, total, q.offset)


def _rendered_now(tx: Tx, recording_id: str) -> str:
    """The list item of a recording stored without one (written by a node that predates
    them, or a meeting's part that could not be replaced): rendered from its columns."""
    rec = live.get_by_id(tx, recording_id)
    assert rec is not None  # the page was read in this transaction
    return live.list_item(tx, rec)


# --- the lifecycle, as the public API drives it -------------------------------------------

# A start replayed by the SDK after a timeout (same body, x-stainless-retry-count > 0) while the
# recording it created is still INVOKED gets that recording back (wire-spec §7 item 24b).
REPLAY_WINDOW_MS = 30_000


def _not_found(recording_id: str) -> NotFound:
    return NotFound(f"Recording {recording_id} not found")


def _output_name(prefix: str | None, meeting_id: str, invoked: int, ext: str) -> str:
    # decisions.md: [<file_name_prefix>_]<meeting_id>_<invoked epoch ms>.<ext>
    return f"{prefix + '_' if prefix else ''}{meeting_id}_{invoked}{ext}"


def _meeting(tx: Tx, app_id: str, meeting_id: str) -> Meeting:
    meeting = meetings.lock_meeting(tx, app_id, meeting_id)
    if meeting is None:
        raise NotFound(f"Meeting {meeting_id} not found")
    if meeting.status == "INACTIVE":
        # wire-spec §7 item 24: an inactive meeting cannot be joined, so nor recorded.
        raise BadRequest(f"meeting {meeting_id} is INACTIVE")
    return meeting


def _resolve(tx: Tx, app_id: str, meeting: Meeting, start: dict[str, Any]) -> options.Resolved:
    app_layer = apps_repo.recording_config(tx, app_id)
    merged = options.merge(start, meeting.recording_config or {}, app_layer or {})
    resolved = options.resolve(merged)
    if not resolved.bucket_enabled and resolved.storage_config is None:
        # wire-spec §7 item 28: such a recording would go nowhere.
        raise BadRequest(
            "the recording has nowhere to go: realtimekit_bucket_config.enabled is false and"
            " there is no storage_config"
        )
    return resolved


def _create(
    tx: Tx,
    now: int,
    app_id: str,
    meeting_id: str,
    resolved: options.Resolved,
    *,
    kind: str = "composite",
    start_reason: dict[str, Any],
    allow_multiple: bool = False,
    request_key: str | None = None,
    user_ids: list[str] | None = None,
) -> StoredRecording:
    ext = ".webm" if kind == "track" else video_extension(resolved.video["codec"])
    rec = NewRecording(
        id=new_uuid(),
        app_id=app_id,
        meeting_id=meeting_id,
        status=Status.INVOKED,
        invoked_time=now,
        output_file_name=_output_name(resolved.file_name_prefix, meeting_id, now, ext),
        kind=kind,
        storage_config=None
        if resolved.storage_config is None
        else orjson.dumps(resolved.storage_config).decode(),
        start_reason=orjson.dumps(start_reason).decode(),
        config=orjson.dumps(resolved.to_json()).decode(),
        allow_multiple=allow_multiple,
        request_key=request_key,
        user_ids=None if user_ids is None else orjson.dumps(user_ids).decode(),
        max_seconds=resolved.max_seconds,
    )
    repository.insert(tx, rec)
    stored = live.get(tx, app_id, rec.id)
    assert stored is not None
    webhook_events.recording_status(tx, stored, rec.invoked_time)
    return stored


def video_extension(codec: str) -> str:
    # VP8/VP9 with Vorbis audio go in WebM; MP4 holds H.264 (wire-spec §2.5).
    return ".mp4" if codec == "H264" else ".webm"


def start_recording(
    tx: Tx, clock: Clock, box: SecretBox, app_id: str, raw: bytes, *, retried: bool = False
) -> dict[str, Any]:
    body = bodies.decode(raw, options.StartBody)
    meeting_id = options.check_start(body)
    meeting = _meeting(tx, app_id, meeting_id)
    now = clock.now_ms()
    key = hashlib.sha256(raw).hexdigest()
    active = [r for r in live.active_for_meeting(tx, app_id, meeting_id) if r.kind == "composite"]
    if retried:
        for r in active:
            if (
                r.status == Status.INVOKED
                and r.request_key == key
                and (now - r.invoked_time <= REPLAY_WINDOW_MS)
            ):
                return render.full(r)
    # Several at once only if this one and every running one asked for it (§7 item 24).
    if active and not (body.allow_multiple_recordings and all(r.allow_multiple for r in active)):
        raise BadRequest("meeting already has an active recording")
    resolved = _resolve(tx, app_id, meeting, options.public(body, box))
    options.check_page_resolved(resolved)
    rec = _create(
        tx,
        now,
        app_id,
        meeting_id,
        resolved,
        start_reason=api_caller(),
        allow_multiple=body.allow_multiple_recordings,
        request_key=key,
    )
    return render.full(rec)


def start_on_join(tx: Tx, now: int, app_id: str, meeting_id: str) -> StoredRecording | None:
    """``record_on_start``: the first participant joined (wire-spec §2.3 RECORD_ON_START, with
    no caller). Nothing if the meeting already has a recording running."""
    meeting = meetings.lock_meeting(tx, app_id, meeting_id)
    if meeting is None or not meeting.record_on_start or meeting.status == "INACTIVE":
        return None
    if any(r.kind == "composite" for r in live.active_for_meeting(tx, app_id, meeting_id)):
        return None
    try:
        resolved = _resolve(tx, app_id, meeting, {})
    except BadRequest:
        return None
    return _create(
        tx, now, app_id, meeting_id, resolved, start_reason={"reason": "RECORD_ON_START"}
    )


def _track_storage(layer: options.TrackLayer | None, box: SecretBox) -> dict[str, Any] | None:
    """The customer's storage of a track layer in the older shape (``outputs``), sealed; None
    when the layer names none (wire-spec §3.5)."""
    if layer is None or not isinstance(layer.outputs, list):
        return None
    for i, output in enumerate(layer.outputs):
        if output.type != "STORAGE_CONFIG":
            continue
        if not isinstance(output.storage_config, options.StorageConfig):
            raise BadRequest.field(
                f"layers.outputs[{i}].storage_config", "is required for STORAGE_CONFIG"
            )
        options.check_storage(output.storage_config)
        sealed: dict[str, Any] = options.public(output, box)["storage_config"]
        return sealed
    return None


def start_track_recording(
    tx: Tx, clock: Clock, box: SecretBox, app_id: str, raw: bytes
) -> dict[str, Any]:
    body = bodies.decode(raw, options.TrackBody)
    meeting_id = bodies.require_uuid("meeting_id", body.meeting_id)
    meeting = _meeting(tx, app_id, meeting_id)
    # wire-spec §3.5, §7 item 25: track recording needs a live session.
    if sessions.live_for_meeting(tx, app_id, meeting_id) is None:
        raise BadRequest(f"meeting {meeting_id} has no live session")
    if any(r.kind == "track" for r in live.active_for_meeting(tx, app_id, meeting_id)):
        raise BadRequest("meeting already has an active track recording")
    layers = body.layers if isinstance(body.layers, dict) else {}
    layer = layers.get("default") or next(iter(layers.values()), None)
    prefix = layer.file_name_prefix if layer is not None else None
    start: dict[str, Any] = {"audio_config": {"export_file": False}}
    if isinstance(prefix, str):
        start["file_name_prefix"] = prefix
    # Track files go to reckit's bucket (wire-spec §3.5), and to the customer's storage too
    # when the layer names one in the older shape (its ``outputs``).
    start["storage_config"] = _track_storage(layer, box)
    start["realtimekit_bucket_config"] = {"enabled": True}
    resolved = _resolve(tx, app_id, meeting, start)
    user_ids = body.user_ids if isinstance(body.user_ids, list) else None
    rec = _create(
        tx,
        clock.now_ms(),
        app_id,
        meeting_id,
        resolved,
        kind="track",
        start_reason=api_caller(),
        user_ids=user_ids,
    )
    return {"recording": render.recording(rec)}


def get_one_recording(tx: Tx, app_id: str, recording_id: str) -> dict[str, Any]:
    rid = bodies.require_uuid("recording_id", recording_id)
    rec = live.get(tx, app_id, rid)
    if rec is None:
        raise _not_found(rid)
    return render.full(rec)


def get_active_recording(tx: Tx, app_id: str, meeting_id: str) -> dict[str, Any]:
    # wire-spec §7 item 31: INVOKED, RECORDING or PAUSED; composite before track; the latest.
    active = live.active_for_meeting(tx, app_id, meeting_id.lower())
    if not active:
        raise NotFound(f"No active recording found for meeting_id {meeting_id}")
    active.sort(key=lambda r: r.kind != "composite")
    return render.recording(active[0])


def act_on_recording(
    tx: Tx, clock: Clock, app_id: str, recording_id: str, raw: bytes
) -> dict[str, Any]:
    """``PUT …/recordings/{id}``: pause, resume or stop (wire-spec §3.6, §7 item 30)."""
    body = bodies.decode(raw, options.ActionBody)
    rid = bodies.require_uuid("recording_id", recording_id)
    rec = live.get(tx, app_id, rid, lock=True)
    if rec is None:
        raise _not_found(rid)
    now = clock.now_ms()
    change = lifecycle.act(rec, body.action, now)
    if change is None:  # a replay: nothing changes
        return render.full(rec)
    live.transition(tx, rec, change, now)
    after = live.get(tx, app_id, rid)
    assert after is not None
    return render.full(after)
