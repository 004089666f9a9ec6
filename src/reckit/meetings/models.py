from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


STATUSES = ("ACTIVE", "INACTIVE")
DEFAULT_KEEP_ALIVE_S = 60


@dataclass(frozen=True)
class Meeting:
    """A stored meeting, its JSON columns parsed (``recording_config`` holds no secrets)."""

    id: str
    app_id: str
    title: str | None
    status: str
    record_on_start: bool
    live_stream_on_start: bool
    persist_chat: bool
    summarize_on_end: bool
    transcribe_on_end: bool
    session_keep_alive_time_in_secs: int
    recording_config: dict[str, Any] | None
    ai_config: dict[str, Any] | None
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class MeetingQuery:
    """A parsed list request (wire-spec §4.1; paging as decisions.md, List recordings)."""

    page_no: int = 1
    per_page: int = 20
    start_ms: int | None = None
    end_ms: int | None = None
    search: str | None = None
    status: str | None = None

    @property
    def offset(self) -> int:
        return (self.page_no - 1) * self.per_page
