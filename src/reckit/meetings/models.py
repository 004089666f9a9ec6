from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NewMeeting:
    id: str
    app_id: str
    created_at: int
    updated_at: int
    title: str | None = None
    status: str = "ACTIVE"
    record_on_start: bool = False
    live_stream_on_start: bool = False
    persist_chat: bool = False
    summarize_on_end: bool = False
    transcribe_on_end: bool = False
    session_keep_alive_time_in_secs: int = 60
    recording_config: str | None = None
    ai_config: str | None = None
