"""Meetings → wire objects (wire-spec §2.6, §4.1; decisions.md, Responses)."""

from __future__ import annotations

from typing import Any

import orjson

from reckit.meetings.models import Meeting, NewMeeting
from reckit.recording_options import SECRET_STORAGE_FIELDS
from reckit.timestamps import format_ms


def _recording_config(config: dict[str, Any]) -> dict[str, Any]:
    storage = config.get("storage_config")
    if not isinstance(storage, dict):
        return config
    # Stored without secrets already; this is the last line of defence (wire-spec §2.4).
    clean = {k: v for k, v in storage.items() if k not in SECRET_STORAGE_FIELDS}
    return {**config, "storage_config": clean}


def meeting(m: Meeting, *, ai_config: bool = True) -> dict[str, Any]:
    """``ai_config`` is in the create/get/update responses, not in list items (wire-spec §2.6)."""
    out: dict[str, Any] = {
        "id": m.id,
        "created_at": format_ms(m.created_at),
        "updated_at": format_ms(m.updated_at),
        "live_stream_on_start": m.live_stream_on_start,
        "persist_chat": m.persist_chat,
        "record_on_start": m.record_on_start,
        "session_keep_alive_time_in_secs": m.session_keep_alive_time_in_secs,
        "status": m.status,
        "summarize_on_end": m.summarize_on_end,
        "transcribe_on_end": m.transcribe_on_end,
    }
    if m.title is not None:
        out["title"] = m.title
    if m.recording_config is not None:
        out["recording_config"] = _recording_config(m.recording_config)
    if ai_config and m.ai_config is not None:
        out["ai_config"] = m.ai_config
    return out


def list_part(m: Meeting | NewMeeting) -> str:
    """The ``meeting`` of a recordings list item (recordings/render.py), as JSON text: not the
    meetings API's own object (no ``transcribe_on_end``, no configs)."""
    meeting: dict[str, Any] = {
        "id": m.id,
        "created_at": format_ms(m.created_at),
        "updated_at": format_ms(m.updated_at),
        "live_stream_on_start": bool(m.live_stream_on_start),
        "persist_chat": bool(m.persist_chat),
        "record_on_start": bool(m.record_on_start),
        "session_keep_alive_time_in_secs": m.session_keep_alive_time_in_secs,
        "status": m.status,
        "summarize_on_end": bool(m.summarize_on_end),
    }
    if m.title is not None:
        meeting["title"] = m.title
    return orjson.dumps(meeting).decode()
