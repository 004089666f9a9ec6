"""Stored rows → wire objects (wire-spec §2.1, §2.2, §2.6; decisions.md, Responses)."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from reckit.recording_options import SECRET_STORAGE_FIELDS
from reckit.recordings.models import StoredRecording
from reckit.timestamps import format_ms
from reckit.webhooks.events import RecordingFields


def _ts(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)


def storage_config(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    config: dict[str, Any] = orjson.loads(text)
    # Stored without secrets already; this is the last line of defence (wire-spec §2.4).
    return {k: v for k, v in config.items() if k not in SECRET_STORAGE_FIELDS}


# A list item is stored with its row, rendered, its meeting's part included (``listing``:
# migration 14): a page is then read as text, neither joined to its meetings nor turned into
# Python values and rendered again for every request. Whatever writes a listed column writes the
# listing in the same transaction: a recording's (recordings/repository.py, live_repository.py)
# or its meeting's (meetings/repository.py, which keeps the meeting's part in
# ``meetings.listing``: meetings/render.py ``list_part``).


class Listed(RecordingFields, Protocol):
    """What a list item shows of a recording: a ``StoredRecording``, a ``NewRecording``, or a
    row of ``recordings.COLUMNS`` as a named tuple (the seeder's bulk rows). Its event's fields
    (webhooks/events.py) and these."""

    @property
    def kind(self) -> str: ...
    @property
    def invoked_time(self) -> int: ...
    @property
    def storage_config(self) -> str | None: ...


def list_item(r: Listed, files: str | None, meeting: str) -> str:
    """The list item of ``r`` (wire-spec §2.1; decisions.md, List recordings) as JSON text.
    ``files``: a track recording's files (``StoredRecording.files``); ``meeting``: its
    meeting's part (``meetings.listing``)."""
    item = recording(r)
    item["storage_config"] = storage_config(r.storage_config)
    if r.kind == "track" and files is not None:
        item["tracks"] = tracks(files)
    item["meeting"] = orjson.Fragment(meeting)
    return orjson.dumps(item).decode()


def tracks(files_json: str) -> list[dict[str, Any]]:
    """reckit's extension (docs/behaviour.md, Track files): every participant's file of a
    track recording, each with its own link, size and duration. The documented fields of the
    recording describe the first of them."""
    files: dict[str, dict[str, Any]] = orjson.loads(files_json)
    out = []
    for name, f in files.items():
        if f.get("role") != "track":
            continue
        duration = f.get("duration_s")
        out.append(
            {
                "participant_id": f.get("participant_id"),
                "user_id": f.get("user_id"),
                "output_file_name": name,
                "download_url": f.get("download_url"),
                "file_size": f.get("size"),
                "recording_duration": None if duration is None else int(duration),
            }
        )
    return out


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def recording(r: Listed) -> dict[str, Any]:
    """The base object (wire-spec §2.1): the 11 required keys, ``recording_duration`` once
    known (§7 item 15)."""
    out: dict[str, Any] = {
        "id": r.id,
        "audio_download_url": r.audio_download_url,
        "download_url": r.download_url,
        "download_url_expiry": _ts(r.download_url_expiry),
        "file_size": r.file_size,
        "invoked_time": format_ms(r.invoked_time),
        "output_file_name": r.output_file_name,
        "session_id": r.session_id,
        "started_time": _ts(r.started_time),
        "status": r.status,
        "stopped_time": _ts(r.stopped_time),
    }
    if r.recording_duration is not None:
        out["recording_duration"] = r.recording_duration
    return out


def full(r: StoredRecording) -> dict[str, Any]:
    """Get one, start, and pause/resume/stop (wire-spec §2.2): the base object with the start
    reason, the stop reason once stopped, and the storage config without its secrets."""
    out = recording(r)
    start = _json(r.start_reason)
    if start is not None:
        out["start_reason"] = start
    stop = _json(r.stop_reason)
    if stop is not None:
        out["stop_reason"] = stop
    out["storage_config"] = storage_config(r.storage_config)
    # reckit's extensions (docs/behaviour.md): why it failed, and every track file.
    if r.error_reason is not None:
        out["error_reason"] = r.error_reason
    if r.kind == "track" and r.files is not None:
        out["tracks"] = tracks(r.files)
    return out
