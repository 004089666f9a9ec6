"""OpenAPI schemas of the recording options (wire-spec §2.4, §2.5), for requests and responses.

The bounds come from ``reckit.recordings.options``, which enforces them."""

from __future__ import annotations

from reckit.http.openapi.common import JSON, STORAGE_CONFIG_OUT, ref
from reckit.recordings.options import MAX_SECONDS, MIN_SECONDS, PREFIX_PATTERN, STORAGE_TYPES

_PX: JSON = {"type": "integer", "minimum": 1, "maximum": 1920}

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
                "url": {"type": "string", "format": "uri"},
                "size": {
                    "type": "object",
                    "properties": {
                        "width": {"type": "integer", "minimum": 1},
                        "height": {"type": "integer", "minimum": 1},
                    },
                },
                "position": {
                    "type": "string",
                    "enum": ["left top", "right top", "left bottom", "right bottom"],
                },
            },
        },
    },
}

_TEXT: JSON = {"type": "string", "maxLength": 4096}

# The conditional rules of §2.4 are enforced by the server and described here in prose: JSON
# Schema's oneOf would reject Azure's documented empty region.
STORAGE_CONFIG_IN: JSON = {
    "type": ["object", "null"],
    "description": "Custom storage. gcs: bucket. aws, digitalocean: access_key, region, bucket. "
    "azure: access_key (connection string), bucket (container); region may be empty. sftp: "
    "host, port, username, auth_method, and private_key (KEY) or password (PASSWORD). "
    "access_key, secret, password and private_key are write-only.",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(STORAGE_TYPES)},
        "access_key": {"type": "string", "writeOnly": True},
        "secret": {"type": "string", "writeOnly": True},
        "bucket": _TEXT,
        "region": _TEXT,
        "path": _TEXT,
        "auth_method": {"type": "string", "enum": ["KEY", "PASSWORD"]},
        "username": _TEXT,
        "password": {"type": "string", "writeOnly": True},
        "host": _TEXT,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "private_key": {"type": "string", "writeOnly": True},
    },
}

_PREFIX: JSON = {"type": "string", "pattern": PREFIX_PATTERN, "maxLength": 200}
_BUCKET: JSON = {
    "type": "object",
    "required": ["enabled"],
    "properties": {"enabled": {"type": "boolean"}},
}
_LIVESTREAM: JSON = {
    "type": "object",
    "required": ["rtmp_url"],
    "properties": {"rtmp_url": {"type": "string", "format": "uri"}},
}


def _recording_config(storage: JSON, closed: bool) -> JSON:
    schema: JSON = {
        "type": "object",
        "properties": {
            "audio_config": ref("AudioConfig"),
            "video_config": ref("VideoConfig"),
            "file_name_prefix": _PREFIX,
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
        "file_name_prefix": _PREFIX,
        "interactive_config": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": ["ID3"]}},
        },
        "max_seconds": {"type": "integer", "minimum": MIN_SECONDS, "maximum": MAX_SECONDS},
        "realtimekit_bucket_config": _BUCKET,
        "rtmp_out_config": _LIVESTREAM,
        "storage_config": ref("StorageConfigIn"),
        "url": {"type": "string", "format": "uri"},
    },
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
