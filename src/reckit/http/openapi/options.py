"""OpenAPI schemas of the recording options (wire-spec §2.4, §2.5), for requests and responses.

The bounds come from ``reckit.recording_options``, which enforces them."""

from __future__ import annotations

from reckit.http.openapi.common import JSON, STORAGE_CONFIG_OUT, ref
from reckit.recording_options import (
    MAX_SECONDS,
    MIN_SECONDS,
    PAGE_URL_PATTERN,
    PREFIX_PATTERN,
    STORAGE_TYPES,
    URI_PATTERN,
)

_PX: JSON = {"type": "integer", "minimum": 1, "maximum": 1920}
_TEXT: JSON = {"type": "string", "maxLength": 4096}
# An absolute URI as reckit checks it (scheme://authority…, no whitespace): what JSON Schema's
# "uri" format would take (a:b, spaces escaped differently) is not what the server takes.
URI_IN: JSON = {**_TEXT, "pattern": URI_PATTERN}

AUDIO_CONFIG: JSON = {
    "type": "object",
    "properties": {
        "channel": {"type": "string", "enum": ["mono", "stereo"], "default": "stereo"},
        "codec": {"type": "string", "enum": ["MP3", "AAC"], "default": "AAC"},
        "export_file": {"type": "boolean", "default": True},
    },
}

VIDEO_CONFIG: JSON = {
    "type": "object",
    "properties": {
        "codec": {"type": "string", "enum": ["H264", "VP8", "VP9"], "default": "H264"},
        "width": {**_PX, "default": 1280},
        "height": {**_PX, "default": 720},
        "export_file": {"type": "boolean", "default": True},
        "watermark": {
            "type": "object",
            "properties": {
                "url": URI_IN,
                "size": {
                    "type": "object",
                    "properties": {"width": _PX, "height": _PX},
                },
                "position": {
                    "type": "string",
                    "enum": ["left top", "right top", "left bottom", "right bottom"],
                },
            },
        },
    },
}

_SECRET: JSON = {"type": "string", "maxLength": 65536, "writeOnly": True}


def _given(*names: str, empty: tuple[str, ...] = ()) -> JSON:
    """These fields are required, and not empty strings (but those in ``empty`` may be)."""
    return {
        "required": list(names),
        "properties": {
            n: {"minLength": 1} for n in names if n not in (*empty, "port", "auth_method")
        },
    }


def _when(types: list[str], then: JSON) -> JSON:
    return {"if": {"required": ["type"], "properties": {"type": {"enum": types}}}, "then": then}


# The conditional rules of wire-spec §2.4, as ``check_storage`` applies them. Azure's region may
# be empty (Cloudflare's own guide sends ""), but not absent.
STORAGE_CONFIG_IN: JSON = {
    "type": ["object", "null"],
    "description": "Custom storage. gcs: bucket. aws, digitalocean: access_key, region, bucket. "
    "azure: access_key (connection string), bucket (container), region (may be empty). sftp: "
    "host, port, username, auth_method, and private_key (KEY) or password (PASSWORD). None of "
    "these may be an empty string. access_key, secret, password and private_key are "
    "write-only.",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(STORAGE_TYPES)},
        "access_key": _SECRET,
        "secret": _SECRET,
        "bucket": _TEXT,
        "region": _TEXT,
        "path": _TEXT,
        "auth_method": {"type": "string", "enum": ["KEY", "PASSWORD"]},
        "username": _TEXT,
        "password": _SECRET,
        "host": _TEXT,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "private_key": _SECRET,
    },
    "allOf": [
        _when(["gcs"], _given("bucket")),
        _when(["aws", "digitalocean"], _given("access_key", "region", "bucket")),
        _when(["azure"], _given("access_key", "region", "bucket", empty=("region",))),
        _when(
            ["sftp"],
            {
                **_given("host", "port", "username", "auth_method"),
                "if": {
                    "required": ["auth_method"],
                    "properties": {"auth_method": {"const": "KEY"}},
                },
                "then": _given("private_key"),
                "else": _given("password"),
            },
        ),
    ],
}

PREFIX: JSON = {"type": "string", "pattern": PREFIX_PATTERN, "maxLength": 200}
_BUCKET: JSON = {
    "type": "object",
    "required": ["enabled"],
    "properties": {"enabled": {"type": "boolean"}},
}
_LIVESTREAM: JSON = {
    "type": "object",
    "required": ["rtmp_url"],
    "properties": {"rtmp_url": URI_IN},
}


def _recording_config(storage: JSON, closed: bool) -> JSON:
    schema: JSON = {
        "type": "object",
        "properties": {
            "audio_config": ref("AudioConfig"),
            "video_config": ref("VideoConfig"),
            "file_name_prefix": PREFIX,
            "live_streaming_config": _LIVESTREAM,
            "max_seconds": {"type": "number", "minimum": MIN_SECONDS, "maximum": MAX_SECONDS},
            "realtimekit_bucket_config": _BUCKET,
            "storage_config": storage,
        },
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


START_BODY: JSON = {
    "type": "object",
    "required": ["meeting_id"],
    "properties": {
        "meeting_id": {"type": "string", "format": "uuid"},
        "allow_multiple_recordings": {"type": "boolean", "default": False},
        "audio_config": ref("AudioConfig"),
        "video_config": ref("VideoConfig"),
        "file_name_prefix": PREFIX,
        "interactive_config": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": ["ID3"]}},
        },
        "max_seconds": {"type": "integer", "minimum": MIN_SECONDS, "maximum": MAX_SECONDS},
        "realtimekit_bucket_config": _BUCKET,
        "rtmp_out_config": _LIVESTREAM,
        "storage_config": ref("StorageConfigIn"),
        "url": {
            **_TEXT,
            "pattern": PAGE_URL_PATTERN,
            "description": "A web page to record instead of the meeting (docs/behaviour.md, "
            "Recording a web page): http or https; a host that is or resolves to a loopback, "
            "private or link-local address is refused (400) unless RECKIT_PAGE_ALLOW_PRIVATE=1; "
            "H.264 video with AAC audio only (400 otherwise, after the meeting's and the app's "
            "recording_config are merged in).",
        },
        "page_config": {
            "description": "reckit's extension for a recording with url.",
            "type": "object",
            "properties": {
                "wait_for_start": {
                    "type": "boolean",
                    "description": "Start capturing when the page logs START_RECORDING on its "
                    "console (within 120 s, else ERRORED), not when it has loaded.",
                }
            },
        },
    },
    # A recording that would go nowhere (decisions.md, wire-spec §7 item 28). Omitted storage
    # inherits the meeting's and the app's, which only the server knows.
    "if": {
        "required": ["realtimekit_bucket_config", "storage_config"],
        "properties": {
            "realtimekit_bucket_config": {"properties": {"enabled": {"const": False}}},
            "storage_config": {"type": "null"},
        },
    },
    "then": {"not": {}},
}

SCHEMAS: JSON = {
    "AudioConfig": AUDIO_CONFIG,
    "VideoConfig": VIDEO_CONFIG,
    "StorageConfigIn": STORAGE_CONFIG_IN,
    "RecordingConfig": _recording_config(ref("StorageConfigIn"), closed=False),
    # In responses: no secrets, and nothing unknown.
    "RecordingConfigOut": _recording_config(
        {**STORAGE_CONFIG_OUT, "type": ["object", "null"]}, closed=True
    ),
    "StartRecordingBody": START_BODY,
}
