"""OpenAPI paths and schemas of the webhooks (docs/spec/webhooks.md; wire-spec §4.3): the six
operations of SDK 5.9.0, ``GET …/webhooks/all``, the public key at
``/.well-known/webhooks.json``, and reckit's extensions (a webhook's deliveries, redeliver).

The bounds come from ``reckit.webhooks``, which enforces them."""

from __future__ import annotations

from reckit.http.openapi.common import (
    JSON,
    PATH_PARAMS,
    TIME,
    UUID,
    nullable,
    operation,
    path_param,
    ref,
    success,
)
from reckit.recording_options import SPACE
from reckit.webhooks.models import EVENTS, MAX_NAME, MAX_URL

_EVENT: JSON = {"type": "string", "enum": list(EVENTS)}
_EVENTS: JSON = {"type": "array", "minItems": 1, "items": _EVENT}
# Not blank, no NUL (names are kept as given; str.strip's whitespace is SPACE).
_NAME: JSON = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": f"^[^\\u0000]*[^{SPACE}\\u0000][^\\u0000]*$",
}
# An absolute http(s) URL with a host; one that resolves to a loopback, private or link-local
# address is a 400 unless RECKIT_WEBHOOK_ALLOW_PRIVATE=1 (docs/behaviour.md, Webhooks).
_URL: JSON = {
    "type": "string",
    "format": "uri",
    "maxLength": MAX_URL,
    "pattern": "^[hH][tT][tT][pP][sS]?://[^/?#:]",
}

WEBHOOK: JSON = {
    "type": "object",
    "required": ["id", "name", "url", "events", "enabled", "created_at", "updated_at"],
    "additionalProperties": False,
    "properties": {
        "id": UUID,
        "name": {"type": "string"},
        "url": {"type": "string"},
        "events": {"type": "array", "items": _EVENT},
        "enabled": {"type": "boolean"},
        "created_at": TIME,
        "updated_at": TIME,
    },
}

_ATTEMPT: JSON = {
    "type": "object",
    "required": ["attempt", "at", "status_code", "error"],
    "additionalProperties": False,
    "properties": {
        "attempt": {"type": "integer", "minimum": 1},
        "at": TIME,
        "status_code": nullable({"type": "integer"}),
        "error": nullable({"type": "string"}),
    },
}

DELIVERY: JSON = {
    "type": "object",
    "description": "reckit's extension: one event sent to one webhook.",
    "required": [
        "id",
        "uuid",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_attempt_at",
        "last_error",
        "history",
    ],
    "additionalProperties": False,
    "properties": {
        "id": UUID,
        "uuid": {**UUID, "description": "The rtk-uuid header: the same on every attempt."},
        "event": _EVENT,
        "status": {"type": "string", "enum": ["pending", "delivered", "failed", "cancelled"]},
        "attempts": {"type": "integer", "minimum": 0},
        "next_attempt_at": nullable(TIME),
        "last_status_code": nullable({"type": "integer"}),
        "last_attempt_at": nullable(TIME),
        "last_error": nullable({"type": "string"}),
        "history": {"type": "array", "items": _ATTEMPT},
    },
}

_FULL_BODY: JSON = {
    "type": "object",
    "required": ["name", "url", "events"],
    "properties": {
        "name": _NAME,
        "url": _URL,
        "events": _EVENTS,
        "enabled": {"type": "boolean", "default": True},
    },
}
_EDIT_BODY: JSON = {
    "type": "object",
    "properties": {"name": _NAME, "url": _URL, "events": _EVENTS, "enabled": {"type": "boolean"}},
}

_BASE = "/accounts/{account_id}/realtime/kit/{app_id}/webhooks"
_WEBHOOK_ID = path_param("webhook_id", UUID, "ID of the webhook.")
_DELIVERY_ID = path_param("delivery_id", UUID, "ID of the delivery.")
_ONE = [*PATH_PARAMS, _WEBHOOK_ID]
_NOT_FOUND = "Unknown app or webhook, or one of another account."

PATHS: JSON = {
    _BASE: {
        "get": operation(
            "get_webhooks",
            "Fetch all webhooks of the app",
            "Webhooks",
            success({"type": "array", "items": ref("Webhook")}),
            ok_description="Every webhook of the app (no paging).",
        ),
        "post": operation(
            "create_webhook",
            "Add a webhook",
            "Webhooks",
            success(ref("Webhook")),
            ok_status="201",
            ok_description="The webhook, created.",
            body=_FULL_BODY,
        ),
    },
    f"{_BASE}/all": {
        "get": operation(
            "get_webhook_events",
            "The events a webhook may subscribe to",
            "Webhooks",
            success({"type": "array", "items": _EVENT}),
        ),
    },
    f"{_BASE}/{{webhook_id}}": {
        "get": operation(
            "get_webhook_by_id",
            "Fetch a webhook",
            "Webhooks",
            success(ref("Webhook")),
            parameters=_ONE,
            not_found=_NOT_FOUND,
        ),
        "patch": operation(
            "edit_webhook",
            "Edit a webhook",
            "Webhooks",
            success(ref("Webhook")),
            parameters=_ONE,
            body=_EDIT_BODY,
            not_found=_NOT_FOUND,
            ok_description="The webhook, edited. Disabling it cancels its pending deliveries.",
        ),
        "put": operation(
            "replace_webhook",
            "Replace a webhook",
            "Webhooks",
            success(ref("Webhook")),
            parameters=_ONE,
            body=_FULL_BODY,
            not_found=_NOT_FOUND,
        ),
        "delete": operation(
            "delete_webhook",
            "Delete a webhook",
            "Webhooks",
            success(ref("Webhook")),
            parameters=_ONE,
            not_found=_NOT_FOUND,
            ok_description="The deleted webhook; its pending deliveries are cancelled.",
        ),
    },
    f"{_BASE}/{{webhook_id}}/deliveries": {
        "get": operation(
            "get_webhook_deliveries",
            "reckit's extension: the webhook's deliveries, newest first",
            "Webhooks (reckit extensions)",
            success({"type": "array", "items": ref("WebhookDelivery")}),
            parameters=_ONE,
            not_found=_NOT_FOUND,
        ),
    },
    f"{_BASE}/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver": {
        "post": operation(
            "redeliver_webhook_delivery",
            "reckit's extension: send a delivery again (same body, same rtk-uuid)",
            "Webhooks (reckit extensions)",
            success(ref("WebhookDelivery")),
            ok_status="201",
            parameters=[*_ONE, _DELIVERY_ID],
            not_found=_NOT_FOUND + " Or an unknown delivery.",
        ),
    },
    "/.well-known/webhooks.json": {
        "get": {
            "operationId": "get_webhook_public_key",
            "summary": "The public key that verifies rtk-signature (RSA, PKCS#1 v1.5, SHA-256)",
            "tags": ["Webhooks"],
            "security": [],
            "parameters": [],
            "responses": {
                "200": {
                    "description": "One PEM key, as RealtimeKit serves it.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["success", "data", "message"],
                                "additionalProperties": False,
                                "properties": {
                                    "success": {"const": True},
                                    "data": {
                                        "type": "object",
                                        "required": ["publicKey"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "publicKey": {
                                                "type": "string",
                                                "pattern": "^-----BEGIN PUBLIC KEY-----\n",
                                            }
                                        },
                                    },
                                    "message": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
    },
}

SCHEMAS: JSON = {"Webhook": WEBHOOK, "WebhookDelivery": DELIVERY}
