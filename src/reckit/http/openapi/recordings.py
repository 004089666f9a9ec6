"""OpenAPI paths and schemas of the recordings (wire-spec §2.1-2.3, §3)."""

from __future__ import annotations

from reckit.http.openapi.common import (
    JSON,
    PAGING_PARAMS,
    PATH_PARAMS,
    RECORDING_ID,
    RECORDING_PROPS,
    RECORDING_REQUIRED,
    TIME_QUERY,
    TIME_QUERY_TEXT,
    UUID,
    operation,
    path_param,
    query_param,
    ref,
    success,
)
from reckit.http.openapi.options import PREFIX, STORAGE_CONFIG_IN
from reckit.query import MAX_SEARCH, SORT_ORDERS
from reckit.recording_options import SPACE
from reckit.recordings.models import SORT_BY, STATUSES

_ANY_CASE_BOOLEAN = "^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"
# One value of status, as the list parser reads it: statuses separated by commas, each part
# trimmed of whitespace (SPACE) and skipped when empty. The enum names them.
_ONE_STATUS = f"[{SPACE}]*(?:{'|'.join(STATUSES)})?[{SPACE}]*"
_STATUS_LIST: JSON = {
    "type": "array",
    "items": {
        "anyOf": [
            {"type": "string", "enum": [*STATUSES, ""]},
            {"type": "string", "pattern": f"^{_ONE_STATUS}(?:,{_ONE_STATUS})*$"},
        ]
    },
}
LIST_PARAMETERS: list[JSON] = [
    {"$ref": "#/components/parameters/account_id"},
    {"$ref": "#/components/parameters/app_id"},
    query_param(
        "end_time", TIME_QUERY, "Upper bound (inclusive) on invoked_time." + TIME_QUERY_TEXT
    ),
    query_param(
        "expired",
        # true or false in any case (decisions.md).
        {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _ANY_CASE_BOOLEAN}]},
        "Only expired / only non-expired bucket copies: true or false, in any case.",
    ),
    query_param("meeting_id", UUID, "Only this meeting's recordings."),
    *PAGING_PARAMS,
    query_param(
        "search",
        {"type": "string", "maxLength": MAX_SEARCH, "pattern": "^[^\\u0000]*$"},
        "Meeting title substring, or meeting ID (whole or a prefix of 8+ characters).",
    ),
    query_param("sort_by", {"type": "string", "enum": list(SORT_BY)}, "Sort key."),
    query_param("sort_order", {"type": "string", "enum": list(SORT_ORDERS)}, "Default DESC."),
    query_param(
        "start_time", TIME_QUERY, "Lower bound (inclusive) on invoked_time." + TIME_QUERY_TEXT
    ),
    query_param(
        "status",
        _STATUS_LIST,
        "Any of these statuses: repeated keys, or a comma-separated list. Empty values are "
        "ignored.",
        style="form",
        explode=True,
    ),
    query_param(
        "status[]", _STATUS_LIST, "As status (the bracketed spelling).", style="form", explode=True
    ),
]


# reckit's extensions (docs/behaviour.md): additive fields the SDKs ignore.
TRACKS: JSON = {
    "type": "array",
    "description": "reckit extension: every participant's file of a track recording.",
    "items": {
        "type": "object",
        "required": [
            "participant_id",
            "user_id",
            "output_file_name",
            "download_url",
            "file_size",
            "recording_duration",
        ],
        "additionalProperties": False,
        "properties": {
            "participant_id": {"type": ["string", "null"]},
            "user_id": {"type": ["string", "null"]},
            "output_file_name": {"type": "string"},
            "download_url": {"type": ["string", "null"], "format": "uri"},
            "file_size": {"type": ["integer", "null"], "minimum": 0},
            "recording_duration": {"type": ["integer", "null"], "minimum": 0},
        },
    },
}
ERROR_REASON: JSON = {
    "type": "string",
    "description": "reckit extension: why the recording ended ERRORED.",
}

LIST_ITEM: JSON = {
    "type": "object",
    "required": [*RECORDING_REQUIRED, "storage_config", "meeting"],
    "additionalProperties": False,
    "properties": {
        **RECORDING_PROPS,
        "storage_config": {"$ref": "#/components/schemas/StorageConfigOut"},
        "meeting": {"$ref": "#/components/schemas/Meeting"},
        "tracks": TRACKS,
    },
}

_CALLER: JSON = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "enum": ["ORGANIZATION", "USER"]},
        # The wire name really is user_Id (wire-spec §2.3).
        "user_Id": UUID,
    },
}


def _reason(values: list[str]) -> JSON:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {"caller": _CALLER, "reason": {"type": "string", "enum": values}},
    }


RECORDING: JSON = {
    "type": "object",
    "required": RECORDING_REQUIRED,
    "additionalProperties": False,
    "properties": RECORDING_PROPS,
}

# Get one, start, pause/resume/stop (wire-spec §2.2).
RECORDING_FULL: JSON = {
    "type": "object",
    "required": [*RECORDING_REQUIRED, "storage_config"],
    "additionalProperties": False,
    "properties": {
        **RECORDING_PROPS,
        "start_reason": _reason(["API_CALL", "RECORD_ON_START"]),
        "stop_reason": _reason(["API_CALL", "INTERNAL_ERROR", "ALL_PEERS_LEFT"]),
        "storage_config": ref("StorageConfigOut"),
        "error_reason": ERROR_REASON,
        "tracks": TRACKS,
    },
}

TRACK_BODY: JSON = {
    "type": "object",
    "required": ["meeting_id"],
    "properties": {
        "meeting_id": UUID,
        "layers": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "file_name_prefix": PREFIX,
                    "media_kind": {"type": "string", "enum": ["audio"]},
                    # The older shape (wire-spec §3.5): where the track files go besides
                    # reckit's bucket. STORAGE_CONFIG needs a storage_config.
                    "outputs": {
                        "type": "array",
                        "maxItems": 4,
                        "items": {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {
                                    "type": "string",
                                    "enum": ["REALTIMEKIT_BUCKET", "STORAGE_CONFIG"],
                                },
                                "storage_config": {**STORAGE_CONFIG_IN, "type": "object"},
                            },
                            "if": {"properties": {"type": {"const": "STORAGE_CONFIG"}}},
                            "then": {"required": ["type", "storage_config"]},
                        },
                    },
                },
            },
        },
        "user_ids": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {"type": "string", "minLength": 1, "maxLength": 256},
        },
    },
}

ACTION_BODY: JSON = {
    "type": "object",
    "required": ["action"],
    "properties": {"action": {"type": "string", "enum": ["stop", "pause", "resume"]}},
}

_BASE = "/accounts/{account_id}/realtime/kit/{app_id}/recordings"
_NOT_FOUND = "Unknown app or recording."

PATHS: JSON = {
    _BASE: {
        "get": operation(
            "get_all_recordings",
            "Fetch all recordings for an App",
            "Recordings",
            success({"type": "array", "items": ref("RecordingListItem")}, paging=True),
            ok_description="A page of recordings.",
            parameters=LIST_PARAMETERS,
        ),
        "post": operation(
            "start_recording",
            "Start recording a meeting",
            "Recordings",
            success(ref("RecordingFull")),
            body=ref("StartRecordingBody"),
            not_found="Unknown app or meeting.",
        ),
    },
    f"{_BASE}/track": {
        "post": operation(
            "start_track_recording",
            "Start recording audio tracks",
            "Recordings",
            success(
                {
                    "type": "object",
                    "required": ["recording"],
                    "additionalProperties": False,
                    "properties": {"recording": ref("Recording")},
                }
            ),
            body=TRACK_BODY,
            not_found="Unknown app or meeting.",
        ),
    },
    f"{_BASE}/active-recording/{{meeting_id}}": {
        "get": operation(
            "get_active_recording",
            "Fetch the active recording of a meeting",
            "Recordings",
            success(ref("Recording")),
            parameters=[
                *PATH_PARAMS,
                path_param(
                    "meeting_id",
                    {"type": "string", "minLength": 1},
                    "ID of the meeting (any string: one that is "
                    "no meeting's has no active recording).",
                ),
            ],
            not_found="Unknown app, or no active recording for the meeting.",
        ),
    },
    f"{_BASE}/{{recording_id}}": {
        "get": operation(
            "get_one_recording",
            "Fetch details of a recording",
            "Recordings",
            success(ref("RecordingFull")),
            parameters=[*PATH_PARAMS, RECORDING_ID],
            not_found=_NOT_FOUND,
        ),
        "put": operation(
            "pause_resume_stop_recording",
            "Pause, resume or stop a recording",
            "Recordings",
            success(ref("RecordingFull")),
            parameters=[*PATH_PARAMS, RECORDING_ID],
            body=ACTION_BODY,
            not_found=_NOT_FOUND,
        ),
    },
}

SCHEMAS: JSON = {
    "Recording": RECORDING,
    "RecordingFull": RECORDING_FULL,
    "RecordingListItem": LIST_ITEM,
}
