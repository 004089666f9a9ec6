"""Pieces of the OpenAPI document shared by every resource: envelopes, errors, parameters.

Shapes follow wire-spec §1 and §2; response objects are closed (``additionalProperties:
false``) so that the tests catch any stray key, a secret above all.
"""

from __future__ import annotations

from typing import Any

from reckit.ids import MAX_ACCOUNT_ID, MAX_APP_ID
from reckit.query import MAX_PAGE_NO, MAX_PER_PAGE_VALUE
from reckit.recordings.models import STATUSES

JSON = dict[str, Any]


def nullable(schema: JSON) -> JSON:
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    return out


UUID: JSON = {"type": "string", "format": "uuid"}
TIME: JSON = {"type": "string", "format": "date-time"}
URI: JSON = {"type": "string", "format": "uri"}

# A time bound of the lists (decisions.md), as reckit.timestamps reads it. Documented: RFC 3339
# date-times but for what the server refuses (year 0000, a leap second :60, more than 9
# fractional digits), and bare dates (midnight UTC). The server also takes, and the description
# names, spellings no JSON Schema format has: no offset (UTC), a space for the "+" of an
# unencoded offset, an offset without its colon, and hh:mm without seconds.
_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
TIME_QUERY: JSON = {
    "anyOf": [
        {
            "type": "string",
            "format": "date-time",
            "pattern": f"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-5][0-9]"
            "(?:[.][0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$",
        },
        {"type": "string", "format": "date", "pattern": f"^{_YEAR}-"},
    ],
}
TIME_QUERY_TEXT = (
    " RFC 3339 (up to 9 fractional digits), or a bare date (its midnight UTC); also taken: no "
    "offset (UTC), a space for an unencoded +, an offset without its colon, hh:mm."
)

RECORDING_PROPS: JSON = {
    "id": {**UUID, "description": "ID of the recording"},
    "audio_download_url": nullable(URI),
    "download_url": nullable(URI),
    "download_url_expiry": nullable(TIME),
    "file_size": nullable({"type": "number", "minimum": 0}),
    "invoked_time": TIME,
    "output_file_name": {"type": "string"},
    "session_id": nullable(UUID),
    "started_time": nullable(TIME),
    "status": {"type": "string", "enum": list(STATUSES)},
    "stopped_time": nullable(TIME),
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
        "id": UUID,
        "created_at": TIME,
        "updated_at": TIME,
        "live_stream_on_start": {"type": "boolean"},
        "persist_chat": {"type": "boolean"},
        "record_on_start": {"type": "boolean"},
        "session_keep_alive_time_in_secs": {"type": "number", "minimum": 60, "maximum": 600},
        "status": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]},
        "summarize_on_end": {"type": "boolean"},
        "title": {"type": "string"},
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


def error_response(description: str, schema: str) -> JSON:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_SECONDS: JSON = {"type": "integer", "minimum": 0}


def _header(schema: JSON, description: str) -> JSON:
    return {"required": True, "schema": schema, "description": description}


def query_param(name: str, schema: JSON, description: str, **extra: Any) -> JSON:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def ref(schema: str) -> JSON:
    return {"$ref": f"#/components/schemas/{schema}"}


def json_content(schema: JSON) -> JSON:
    return {"application/json": {"schema": schema}}


def success(data: JSON, *, paging: bool = False) -> JSON:
    """The success envelope around ``data`` (wire-spec §1.6: no ``result`` key)."""
    props: JSON = {"success": {"const": True}, "data": data}
    if paging:
        props["paging"] = ref("Paging")
    return {
        "type": "object",
        "required": list(props),
        "additionalProperties": False,
        "properties": props,
    }


PATH_PARAMS = [
    {"$ref": "#/components/parameters/account_id"},
    {"$ref": "#/components/parameters/app_id"},
]


def path_param(name: str, schema: JSON, description: str) -> JSON:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


# A recording's ID in a path (recordings.py, and the extensions in nodes.py).
RECORDING_ID = path_param("recording_id", UUID, "ID of the recording.")


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    ok: JSON,
    *,
    ok_status: str = "200",
    ok_description: str = "Success.",
    parameters: list[JSON] | None = None,
    body: JSON | None = None,
    body_required: bool = True,
    not_found: str = "Unknown app, or an app of another account.",
) -> JSON:
    """One operation with reckit's standard error responses (decisions.md, Errors)."""
    op: JSON = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "parameters": parameters if parameters is not None else list(PATH_PARAMS),
        "responses": {
            ok_status: {"description": ok_description, "content": json_content(ok)},
            "400": {
                "description": "A malformed value, an illegal state change, or a malformed "
                "Authorization header.",
                "content": json_content({"oneOf": [ref("GenericError"), ref("GatewayError")]}),
            },
            "401": error_response("Missing, unknown or revoked token.", "GatewayError"),
            "403": error_response("The token is not for this account.", "GatewayError"),
            "404": error_response(not_found, "GenericError"),
            "429": {
                **error_response("Rate limit exceeded (when enabled).", "GatewayError"),
                "headers": {
                    "retry-after": _header(_SECONDS, "Seconds until the window lets it in."),
                    "Ratelimit": _header({"type": "string"}, 'e.g. "default";r=0;t=30'),
                    "Ratelimit-Policy": _header({"type": "string"}, 'e.g. "default";q=1200;w=300'),
                },
            },
            "500": error_response("Unexpected failure.", "GenericError"),
            "503": {
                **error_response(
                    "The embedded store stayed busy with other writes; nothing was written. "
                    "Retry after the retry-after header's seconds.",
                    "GenericError",
                ),
                "headers": {"retry-after": _header(_SECONDS, "Seconds to wait before a retry.")},
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": json_content(body)}
    return op


COMPONENT_PARAMETERS: JSON = {
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
}

COMMON_SCHEMAS: JSON = {
    "StorageConfigOut": STORAGE_CONFIG_OUT,
    "Meeting": MEETING,
    "Paging": PAGING,
    "GenericError": GENERIC_ERROR,
    "GatewayError": GATEWAY_ERROR,
}


# Paging, as every list but the apps' reads it (reckit.query.paging). per_page is clamped rather
# than refused (decisions.md); its bound only keeps numbers parseable.
PAGING_PARAMS: list[JSON] = [
    query_param(
        "page_no",
        {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_NO},
        "Page number (1-based; 0 means 1). A whole number; 2.0 is accepted.",
        allowEmptyValue=True,
    ),
    query_param(
        "per_page",
        {"type": "integer", "minimum": 0, "maximum": float(MAX_PER_PAGE_VALUE)},
        "Results per page (default 20; larger values are clamped to the server's maximum; "
        "0 returns only the count).",
        allowEmptyValue=True,
    ),
]
