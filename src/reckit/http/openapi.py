"""The OpenAPI 3.1 document of everything reckit serves, built from the same enums the code uses.

Shapes follow wire-spec §2 and §3.1; response objects are closed (``additionalProperties:
false``) so that the tests catch any stray key, a secret above all.
"""

from __future__ import annotations

from typing import Any

from reckit.ids import MAX_ACCOUNT_ID, MAX_APP_ID
from reckit.recordings.list_query import MAX_PAGE_NO, MAX_SEARCH
from reckit.recordings.models import SORT_BY, SORT_ORDERS, STATUSES

JSON = dict[str, Any]


def _nullable(schema: JSON) -> JSON:
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    return out


_UUID: JSON = {"type": "string", "format": "uuid"}
_TIME: JSON = {"type": "string", "format": "date-time"}
_URI: JSON = {"type": "string", "format": "uri"}

RECORDING_PROPS: JSON = {
    "id": {**_UUID, "description": "ID of the recording"},
    "audio_download_url": _nullable(_URI),
    "download_url": _nullable(_URI),
    "download_url_expiry": _nullable(_TIME),
    "file_size": _nullable({"type": "number", "minimum": 0}),
    "invoked_time": _TIME,
    "output_file_name": {"type": "string"},
    "session_id": _nullable(_UUID),
    "started_time": _nullable(_TIME),
    "status": {"type": "string", "enum": list(STATUSES)},
    "stopped_time": _nullable(_TIME),
    "recording_duration": {"type": "integer", "minimum": 0},
}
RECORDING_REQUIRED = [k for k in RECORDING_PROPS if k != "recording_duration"]

STORAGE_CONFIG_OUT: JSON = {
    "type": ["object", "null"],
    "description": "Destination storage, without its write-only secrets.",
    "required": ["type"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "enum": ["aws", "azure", "digitalocean", "gcs", "sftp"]},
        "auth_method": {"type": "string", "enum": ["KEY", "PASSWORD"]},
        "bucket": {"type": "string"},
        "host": {"type": "string"},
        "path": {"type": "string"},
        "port": {"type": "number"},
        "region": {"type": "string"},
        "username": {"type": "string"},
    },
}

MEETING: JSON = {
    "type": "object",
    "required": ["id", "created_at", "updated_at"],
    "additionalProperties": False,
    "properties": {
        "id": _UUID,
        "created_at": _TIME,
        "updated_at": _TIME,
        "live_stream_on_start": {"type": "boolean"},
        "persist_chat": {"type": "boolean"},
        "record_on_start": {"type": "boolean"},
        "session_keep_alive_time_in_secs": {"type": "number", "minimum": 60, "maximum": 600},
        "status": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]},
        "summarize_on_end": {"type": "boolean"},
        "title": {"type": "string"},
    },
}

LIST_ITEM: JSON = {
    "type": "object",
    "required": [*RECORDING_REQUIRED, "storage_config", "meeting"],
    "additionalProperties": False,
    "properties": {
        **RECORDING_PROPS,
        "storage_config": {"$ref": "#/components/schemas/StorageConfigOut"},
        "meeting": {"$ref": "#/components/schemas/Meeting"},
    },
}

PAGING: JSON = {
    "type": "object",
    "required": ["end_offset", "start_offset", "total_count"],
    "additionalProperties": False,
    "properties": {
        "end_offset": {"type": "integer", "minimum": 0},
        "start_offset": {"type": "integer", "minimum": 0},
        "total_count": {"type": "integer", "minimum": 0},
    },
}

GENERIC_ERROR: JSON = {
    "type": "object",
    "required": ["success", "error"],
    "additionalProperties": False,
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        },
    },
}

GATEWAY_ERROR: JSON = {
    "type": "object",
    "required": ["success", "errors", "messages", "result"],
    "additionalProperties": False,
    "properties": {
        "success": {"const": False},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "integer"},
                    "message": {"type": "string"},
                    "error_chain": {"type": "array"},
                },
            },
        },
        "messages": {"type": "array"},
        "result": {"type": "null"},
    },
}

LIST_RESPONSE: JSON = {
    "type": "object",
    "required": ["success", "data", "paging"],
    "additionalProperties": False,
    "properties": {
        "success": {"const": True},
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/RecordingListItem"}},
        "paging": {"$ref": "#/components/schemas/Paging"},
    },
}


def _error(description: str, schema: str) -> JSON:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _query(name: str, schema: JSON, description: str, **extra: Any) -> JSON:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description, **extra}  # fmt: skip


LIST_PARAMETERS: list[JSON] = [
    {"$ref": "#/components/parameters/account_id"},
    {"$ref": "#/components/parameters/app_id"},
    _query("end_time", _TIME, "Upper bound (inclusive) on invoked_time, ISO 8601."),
    _query("expired", {"type": "boolean"}, "Only expired / only non-expired bucket copies."),
    _query("meeting_id", _UUID, "Only this meeting's recordings."),
    _query("page_no", {"type": "number", "minimum": 0, "maximum": MAX_PAGE_NO, "multipleOf": 1},
           "Page number (1-based; 0 means 1). A whole number; 2.0 is accepted.",
           allowEmptyValue=True),
    # Clamped rather than refused (decisions.md); the bound only keeps numbers parseable.
    _query("per_page", {"type": "number", "minimum": 0, "maximum": 1e99, "multipleOf": 1},
           "Results per page (default 20; larger values are clamped to the server's maximum; "
           "0 returns only the count).", allowEmptyValue=True),
    _query("search", {"type": "string", "maxLength": MAX_SEARCH, "pattern": "^[^\\u0000]*$"},
           "Meeting title substring, or meeting ID (whole or a prefix of 8+ characters)."),
    _query("sort_by", {"type": "string", "enum": list(SORT_BY)}, "Sort key."),
    _query("sort_order", {"type": "string", "enum": list(SORT_ORDERS)}, "Default DESC."),
    _query("start_time", _TIME, "Lower bound (inclusive) on invoked_time, ISO 8601."),
    _query("status", {"type": "array", "items": {"type": "string", "enum": [*STATUSES, ""]}},
           "Any of these statuses: repeated keys, or a comma-separated list. Empty values are "
           "ignored.",
           style="form", explode=True),
]  # fmt: skip


def openapi_document() -> JSON:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "reckit — RealtimeKit Recordings API",
            "version": "0.1.0",
            "description": "Self-hosted implementation of Cloudflare RealtimeKit's Recordings "
            "API. Every route is also served without the /client/v4 prefix.",
        },
        "servers": [{"url": "/client/v4"}],
        "security": [{"api_token": []}],
        "paths": {
            "/accounts/{account_id}/realtime/kit/{app_id}/recordings": {
                "get": {
                    "operationId": "get_all_recordings",
                    "summary": "Fetch all recordings for an App",
                    "tags": ["Recordings"],
                    "parameters": LIST_PARAMETERS,
                    "responses": {
                        "200": {
                            "description": "A page of recordings.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ListResponse"}
                                }
                            },
                        },
                        "400": {
                            "description": "A malformed parameter or Authorization header.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            {"$ref": "#/components/schemas/GenericError"},
                                            {"$ref": "#/components/schemas/GatewayError"},
                                        ]
                                    }
                                }
                            },
                        },
                        "401": _error("Missing, unknown or revoked token.", "GatewayError"),
                        "403": _error("The token is not for this account.", "GatewayError"),
                        "404": _error("Unknown app, or an app of another account.", "GenericError"),
                        "429": _error("Rate limit exceeded (when enabled).", "GatewayError"),
                        "500": _error("Unexpected failure.", "GenericError"),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"api_token": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "account_id": {
                    "name": "account_id",
                    "in": "path",
                    "required": True,
                    "description": "The account identifier tag.",
                    "schema": {"type": "string", "maxLength": MAX_ACCOUNT_ID},
                },
                "app_id": {
                    "name": "app_id",
                    "in": "path",
                    "required": True,
                    "description": "The app identifier tag.",
                    "schema": {"type": "string", "maxLength": MAX_APP_ID},
                },
            },
            "schemas": {
                "RecordingListItem": LIST_ITEM,
                "StorageConfigOut": STORAGE_CONFIG_OUT,
                "Meeting": MEETING,
                "Paging": PAGING,
                "ListResponse": LIST_RESPONSE,
                "GenericError": GENERIC_ERROR,
                "GatewayError": GATEWAY_ERROR,
            },
        },
    }
