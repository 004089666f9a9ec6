"""OpenAPI paths and schemas of the meetings (wire-spec §2.6, §4.1).

The bounds come from ``reckit.meetings.bodies``, which enforces them."""

from __future__ import annotations

from reckit.http.openapi.common import (
    JSON,
    MEETING,
    PAGING_PARAMS,
    PATH_PARAMS,
    TIME_QUERY,
    TIME_QUERY_TEXT,
    UUID,
    operation,
    path_param,
    query_param,
    ref,
    success,
)
from reckit.meetings import bodies
from reckit.meetings.models import STATUSES
from reckit.query import MAX_SEARCH

_NO_NUL = "^[^\\u0000]*$"
_TITLE: JSON = {"type": "string", "maxLength": bodies.MAX_TITLE, "pattern": _NO_NUL}
_KEEP_ALIVE: JSON = {
    "type": "number",
    "minimum": bodies.MIN_KEEP_ALIVE,
    "maximum": bodies.MAX_KEEP_ALIVE,
    "multipleOf": 1,
    "default": 60,
}


def _ai_config(closed: bool) -> JSON:
    extra: JSON = {"additionalProperties": False} if closed else {}
    return {
        "type": "object",
        **extra,
        "properties": {
            "transcription": {
                "type": "object",
                **extra,
                "properties": {
                    "keywords": {
                        "type": "array",
                        "maxItems": bodies.MAX_KEYWORDS,
                        "items": {"type": "string", "maxLength": bodies.MAX_KEYWORD},
                    },
                    "language": {
                        "type": "string",
                        "enum": list(bodies.LANGUAGES),
                        "default": "en-US",
                    },
                    "profanity_filter": {"type": "boolean", "default": False},
                },
            },
            "summarization": {
                "type": "object",
                **extra,
                "properties": {
                    "summary_type": {
                        "type": "string",
                        "enum": list(bodies.SUMMARY_TYPES),
                        "default": "general",
                    },
                    "text_format": {
                        "type": "string",
                        "enum": list(bodies.TEXT_FORMATS),
                        "default": "markdown",
                    },
                    "word_limit": {
                        "type": "integer",
                        "minimum": bodies.MIN_WORDS,
                        "maximum": bodies.MAX_WORDS,
                        "default": 500,
                    },
                },
            },
        },
    }


def _body(*, nullable: bool, status: bool) -> JSON:
    def maybe_null(type_: str) -> JSON:
        return {"type": [type_, "null"] if nullable else type_}

    props: JSON = {
        "title": {**_TITLE, **maybe_null("string")},
        "record_on_start": {**maybe_null("boolean"), "default": False},
        "live_stream_on_start": {**maybe_null("boolean"), "default": False},
        "persist_chat": {"type": "boolean", "default": False},
        "recording_config": ref("RecordingConfig"),
        "session_keep_alive_time_in_secs": _KEEP_ALIVE,
        "summarize_on_end": {"type": "boolean", "default": False},
        "transcribe_on_end": {"type": "boolean", "default": False},
        "ai_config": ref("AIConfig"),
    }
    if status:
        props["status"] = {"type": "string", "enum": list(STATUSES)}
    if not nullable:  # PATCH: no defaults, only what is given changes
        props = {k: {kk: vv for kk, vv in v.items() if kk != "default"} for k, v in props.items()}
    return {
        "type": "object",
        "properties": props,
        "description": "Every field is optional: an empty body (none at all) is {}.",
    }


# The embedded meeting of the recordings list, plus what the meeting endpoints add.
_OUT_PROPS: JSON = {
    **MEETING["properties"],
    "title": {"type": "string", "maxLength": bodies.MAX_TITLE},
    "transcribe_on_end": {"type": "boolean"},
    "recording_config": ref("RecordingConfigOut"),
}
MEETING_LIST_ITEM: JSON = {**MEETING, "properties": _OUT_PROPS}
MEETING_FULL: JSON = {**MEETING, "properties": {**_OUT_PROPS, "ai_config": ref("AIConfigOut")}}

LIST_PARAMETERS: list[JSON] = [
    *PATH_PARAMS,
    *PAGING_PARAMS,
    query_param(
        "start_time", TIME_QUERY, "Lower bound (inclusive) on created_at." + TIME_QUERY_TEXT
    ),
    query_param("end_time", TIME_QUERY, "Upper bound (inclusive) on created_at." + TIME_QUERY_TEXT),
    query_param(
        "search",
        {"type": "string", "maxLength": MAX_SEARCH, "pattern": _NO_NUL},
        "Title substring (case-insensitive), or meeting ID (whole or a prefix of 8+ characters).",
    ),
    query_param(
        "status", {"type": "string", "enum": [*STATUSES, ""]}, "Only meetings in this status."
    ),
]

_MEETING_ID = path_param("meeting_id", UUID, "ID of the meeting.")
_ONE_PARAMS = [*PATH_PARAMS, _MEETING_ID]
_BASE = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"
_NOT_FOUND = "Unknown app, or a meeting not in it."

PATHS: JSON = {
    _BASE: {
        "get": operation(
            "get_all_meetings",
            "Fetch all meetings for an App",
            "Meetings",
            success({"type": "array", "items": ref("MeetingListItem")}, paging=True),
            ok_description="A page of meetings, newest first.",
            parameters=LIST_PARAMETERS,
        ),
        "post": operation(
            "create_meeting",
            "Create a meeting",
            "Meetings",
            success(ref("MeetingFull")),
            ok_status="201",
            ok_description="The meeting, created.",
            body=ref("CreateMeetingBody"),
            body_required=False,
        ),
    },
    f"{_BASE}/{{meeting_id}}": {
        "get": operation(
            "get_meeting",
            "Fetch a meeting",
            "Meetings",
            success(ref("MeetingFull")),
            parameters=[*_ONE_PARAMS, query_param("name", {"type": "string"}, "Ignored.")],
            not_found=_NOT_FOUND,
        ),
        "patch": operation(
            "update_meeting",
            "Update the given fields of a meeting",
            "Meetings",
            success(ref("MeetingFull")),
            parameters=_ONE_PARAMS,
            body=ref("UpdateMeetingBody"),
            body_required=False,
            not_found=_NOT_FOUND,
        ),
        "put": operation(
            "replace_meeting",
            "Replace a meeting's details (omitted fields: defaults)",
            "Meetings",
            success(ref("MeetingFull")),
            parameters=_ONE_PARAMS,
            body=ref("CreateMeetingBody"),
            body_required=False,
            not_found=_NOT_FOUND,
        ),
    },
}

SCHEMAS: JSON = {
    "MeetingListItem": MEETING_LIST_ITEM,
    "MeetingFull": MEETING_FULL,
    "AIConfig": _ai_config(closed=False),
    "AIConfigOut": _ai_config(closed=True),
    "CreateMeetingBody": _body(nullable=True, status=False),
    "UpdateMeetingBody": _body(nullable=False, status=True),
}
