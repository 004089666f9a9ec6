"""Recording vocabulary shared by the service, the store and the wire (wire-spec §2.1, §5.1)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    INVOKED = "INVOKED"
    RECORDING = "RECORDING"
    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    ERRORED = "ERRORED"
    PAUSED = "PAUSED"


STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
SORT_BY = ("invokedTime",)


@dataclass(frozen=True)
class ListQuery:
    """A parsed, validated list request (decisions.md, List recordings)."""

    page_no: int = 1
    per_page: int = 20
    statuses: tuple[str, ...] | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    meeting_id: str | None = None
    expired: bool | None = None
    search: str | None = None
    descending: bool = True

    @property
    def offset(self) -> int:
        return (self.page_no - 1) * self.per_page


@dataclass(slots=True)
class NewRecording:
    """The columns a new recording is written with: by the seeder, and by a start
    (``service.py``); the lifecycle's other columns start at their defaults."""

    id: str
    app_id: str
    meeting_id: str
    status: str
    invoked_time: int
    output_file_name: str
    kind: str = "composite"
    started_time: int | None = None
    stopped_time: int | None = None
    session_id: str | None = None
    file_size: int | None = None
    recording_duration: int | None = None
    download_url: str | None = None
    audio_download_url: str | None = None
    download_url_expiry: int | None = None
    storage_config: str | None = None
    start_reason: str | None = None
    stop_reason: str | None = None
    # Lifecycle columns (migration 3); a bulk load leaves them at their defaults.
    config: str | None = None
    allow_multiple: bool = False
    request_key: str | None = None
    user_ids: str | None = None
    max_seconds: int | None = None


# Statuses of a recording that is still running, for the one-active-recording rule and for
# GET …/active-recording (wire-spec §7 items 24, 31).
ACTIVE = (Status.INVOKED.value, Status.RECORDING.value, Status.PAUSED.value)
# Statuses after which nothing changes.
TERMINAL = (Status.UPLOADED.value, Status.ERRORED.value)


@dataclass(frozen=True)
class StoredRecording:
    """One recording as stored, with the columns the lifecycle, delivery and recorders added
    (db/schema.py, migrations 3 to 5)."""

    id: str
    app_id: str
    meeting_id: str
    kind: str
    status: str
    invoked_time: int
    started_time: int | None
    stopped_time: int | None
    session_id: str | None
    output_file_name: str
    file_size: int | None
    recording_duration: int | None
    download_url: str | None
    audio_download_url: str | None
    download_url_expiry: int | None
    storage_config: str | None
    start_reason: str | None
    stop_reason: str | None
    config: str | None
    allow_multiple: bool
    request_key: str | None
    paused_ms: int
    paused_at: int | None
    recorder_id: str | None
    heartbeat_at: int | None
    error_reason: str | None
    files: str | None
    user_ids: str | None
    max_seconds: int | None
    purged_at: int | None
    recorder_instance: str | None
