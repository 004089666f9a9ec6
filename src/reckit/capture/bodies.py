"""Bodies of the recorder API (docs/recorder-api.md), validated by msgspec."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

Name = Annotated[str, Meta(min_length=1, max_length=200)]
MAX_DURATION_S = 366 * 86_400
Url = Annotated[str, Meta(max_length=4096)]


class PollBody(Struct, forbid_unknown_fields=False):
    capacity: Annotated[int, Meta(ge=0, le=1000)] = 1
    # Random per run of the recorder: tells a lost answer from a restart.
    instance: Annotated[str, Meta(max_length=64)] | None = None
    holding: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=1000)] = []
    # Page recordings (``url``) the recorder has room for now; none when it does not say.
    page_slots: Annotated[int, Meta(ge=0, le=1000)] | None = None


class StopBody(Struct, forbid_unknown_fields=False):
    reason: Annotated[str, Meta(max_length=2000)] = ""
    crashed: bool = False


class FailedBody(Struct, forbid_unknown_fields=False):
    reason: Annotated[str, Meta(max_length=2000)] = ""


class FileEntry(Struct, forbid_unknown_fields=False):
    role: Literal["video", "audio", "track"]
    participant_id: Name | None = None
    # A track file's own: whose it is and how long (the recording's duration otherwise).
    user_id: Name | None = None
    duration_s: Annotated[float, Meta(ge=0, le=MAX_DURATION_S)] | None = None


class CompleteBody(Struct, forbid_unknown_fields=False):
    files: dict[Annotated[str, Meta(max_length=255)], FileEntry]
    # At most a year: a number that fits every column it ends up in.
    duration_s: Annotated[float, Meta(ge=0, le=MAX_DURATION_S)]


class SessionBody(Struct, forbid_unknown_fields=False):
    app_id: Name
    meeting_id: str
    session_id: str | None = None
    media_url: Url | None = None


class ParticipantBody(Struct, forbid_unknown_fields=False):
    participant_id: Name
    user_id: Name | None = None
    name: Name | None = None
    media_url: Url | None = None
