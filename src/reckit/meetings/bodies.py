"""Request bodies of the meetings (wire-spec §4.1), decoded and checked by msgspec.

Create and replace share a body whose ``title``, ``record_on_start`` and
``live_stream_on_start`` may be ``null``; the PATCH body has no nullable field and adds
``status``. Unknown keys are ignored, as on every other body (wire-spec §7 item 26).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, UnsetType

from reckit.bodies import decode
from reckit.crypto import SecretBox
from reckit.errors import BadRequest
from reckit.meetings.models import DEFAULT_KEEP_ALIVE_S
from reckit.recording_options import RecordingConfig, check_recording_config, public

# The spec bounds none of these; limits keep one meeting's row small.
MAX_TITLE = 2000
MAX_KEYWORDS, MAX_KEYWORD = 100, 256
MIN_KEEP_ALIVE, MAX_KEEP_ALIVE = 60, 600
MIN_WORDS, MAX_WORDS = 150, 1000
LANGUAGES = ("en-US", "en-IN", "de", "hi", "sv", "ru", "pl", "el", "fr", "nl")
SUMMARY_TYPES = (
    "general",
    "team_meeting",
    "sales_call",
    "client_check_in",
    "interview",
    "daily_standup",
    "one_on_one_meeting",
    "lecture",
    "code_review",
)
TEXT_FORMATS = ("plain_text", "markdown")

Title = Annotated[str, Meta(max_length=MAX_TITLE)]
# "number" in the spec; stored in whole seconds (a fraction is refused in check_keep_alive).
KeepAlive = Annotated[float, Meta(ge=MIN_KEEP_ALIVE, le=MAX_KEEP_ALIVE)]
Keywords = Annotated[
    list[Annotated[str, Meta(max_length=MAX_KEYWORD)]], Meta(max_length=MAX_KEYWORDS)
]


class _Body(Struct, omit_defaults=True):
    pass


class Transcription(_Body):
    keywords: Keywords | UnsetType = UNSET
    language: (
        Literal["en-US", "en-IN", "de", "hi", "sv", "ru", "pl", "el", "fr", "nl"] | UnsetType
    ) = UNSET
    profanity_filter: bool | UnsetType = UNSET


class Summarization(_Body):
    summary_type: (
        Literal[
            "general",
            "team_meeting",
            "sales_call",
            "client_check_in",
            "interview",
            "daily_standup",
            "one_on_one_meeting",
            "lecture",
            "code_review",
        ]
        | UnsetType
    ) = UNSET
    text_format: Literal["plain_text", "markdown"] | UnsetType = UNSET
    # A whole number; 500.0 is one too (JSON Schema's "integer"), so decoded as a float.
    word_limit: Annotated[float, Meta(ge=MIN_WORDS, le=MAX_WORDS)] | UnsetType = UNSET


class AIConfig(_Body):
    transcription: Transcription | UnsetType = UNSET
    summarization: Summarization | UnsetType = UNSET


class MeetingBody(_Body):
    """``POST …/meetings`` and ``PUT …/meetings/{meeting_id}``."""

    title: Title | UnsetType | None = UNSET
    record_on_start: bool | UnsetType | None = UNSET
    live_stream_on_start: bool | UnsetType | None = UNSET
    persist_chat: bool | UnsetType = UNSET
    recording_config: RecordingConfig | UnsetType = UNSET
    session_keep_alive_time_in_secs: KeepAlive | UnsetType = UNSET
    summarize_on_end: bool | UnsetType = UNSET
    transcribe_on_end: bool | UnsetType = UNSET
    ai_config: AIConfig | UnsetType = UNSET


class UpdateBody(_Body):
    """``PATCH …/meetings/{meeting_id}``: only the fields given change."""

    title: Title | UnsetType = UNSET
    record_on_start: bool | UnsetType = UNSET
    live_stream_on_start: bool | UnsetType = UNSET
    persist_chat: bool | UnsetType = UNSET
    recording_config: RecordingConfig | UnsetType = UNSET
    session_keep_alive_time_in_secs: KeepAlive | UnsetType = UNSET
    summarize_on_end: bool | UnsetType = UNSET
    transcribe_on_end: bool | UnsetType = UNSET
    ai_config: AIConfig | UnsetType = UNSET
    status: Literal["ACTIVE", "INACTIVE"] | UnsetType = UNSET


def _check(body: MeetingBody | UpdateBody) -> None:
    if isinstance(body.title, str) and "\x00" in body.title:
        raise BadRequest.field("title", "must not contain NUL characters")
    keep = body.session_keep_alive_time_in_secs
    if isinstance(keep, float) and not keep.is_integer():
        raise BadRequest.field("session_keep_alive_time_in_secs", "must be a whole number")
    if isinstance(body.recording_config, RecordingConfig):
        check_recording_config(body.recording_config)
    ai = body.ai_config
    if isinstance(ai, AIConfig) and isinstance(ai.summarization, Summarization):
        words = ai.summarization.word_limit
        if isinstance(words, float) and not words.is_integer():
            raise BadRequest.field("ai_config.summarization.word_limit", "must be a whole number")


def _decode(raw: bytes, kind: type[MeetingBody] | type[UpdateBody]) -> Any:
    # Every field is optional, so an empty body is an empty object.
    body = decode(raw if raw.strip() else b"{}", kind)
    _check(body)
    return body


def parse_create(raw: bytes) -> MeetingBody:
    body: MeetingBody = _decode(raw, MeetingBody)
    return body


def parse_update(raw: bytes) -> UpdateBody:
    body: UpdateBody = _decode(raw, UpdateBody)
    return body


def _ai_json(value: AIConfig) -> str:
    out: dict[str, Any] = msgspec.to_builtins(value)
    summary = out.get("summarization")
    if isinstance(summary, dict) and "word_limit" in summary:
        summary["word_limit"] = int(summary["word_limit"])
    return orjson.dumps(out).decode()


def _given(body: MeetingBody | UpdateBody, box: SecretBox) -> dict[str, Any]:
    """The fields a body gives, as column values (``recording_config`` without secrets)."""
    out: dict[str, Any] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is UNSET:
            continue
        if name == "recording_config":
            value = orjson.dumps(public(value, box)).decode()
        elif name == "ai_config":
            value = _ai_json(value)
        elif name == "session_keep_alive_time_in_secs":
            value = int(value)
        out[name] = value
    return out


DEFAULTS: dict[str, Any] = {
    "title": None,
    "record_on_start": False,
    "live_stream_on_start": False,
    "persist_chat": False,
    "recording_config": None,
    "session_keep_alive_time_in_secs": DEFAULT_KEEP_ALIVE_S,
    "summarize_on_end": False,
    "transcribe_on_end": False,
    "ai_config": None,
}


def full_columns(body: MeetingBody, box: SecretBox) -> dict[str, Any]:
    """Every column a create or replace sets: a field omitted, or a nullable boolean sent as
    ``null``, takes its default (wire-spec §4.1)."""
    given = {k: v for k, v in _given(body, box).items() if v is not None or k == "title"}
    return {**DEFAULTS, **given}


def changed_columns(body: UpdateBody, box: SecretBox) -> dict[str, Any]:
    return _given(body, box)
