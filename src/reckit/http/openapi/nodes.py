"""OpenAPI paths and schemas of reckit's extensions about the recorders (http/routes/nodes.py,
nodes/waiting.py): why a recording waits for a recorder, and the nodes sharing the store."""

from __future__ import annotations

from reckit.http.openapi.common import (
    JSON,
    PATH_PARAMS,
    RECORDING_ID,
    TIME,
    nullable,
    operation,
    ref,
    success,
)
from reckit.nodes.repository import ROLES

_CLAIM_TIMEOUT: JSON = {
    "type": "integer",
    "minimum": 0,
    "description": "Seconds a recording started through the API may wait for a recorder before "
    "it ends ERRORED (RECKIT_CLAIM_TIMEOUT).",
}

WAITING: JSON = {
    "type": "object",
    "description": "reckit extension: whether the recording waits for a recorder (INVOKED, "
    "started through the API, claimed by none), why, and since when.",
    "required": ["waiting", "reason", "since", "claim_timeout_s"],
    "additionalProperties": False,
    "properties": {
        "waiting": {"type": "boolean"},
        "reason": nullable({"type": "string", "minLength": 1}),
        "since": nullable(TIME),
        "claim_timeout_s": _CLAIM_TIMEOUT,
    },
}

_COUNT: JSON = {"type": "integer", "minimum": 0}
_SLOTS: JSON = nullable({"type": "integer", "minimum": 0})

NODE: JSON = {
    "type": "object",
    "description": "reckit extension: a node sharing the store (no hostname, pid or address).",
    "required": [
        "id",
        "state",
        "roles",
        "recorder_slots",
        "recorder_slots_in_use",
        "heartbeat_at",
        "seconds_since_heartbeat",
    ],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "state": {"type": "string", "enum": ["up", "stopped", "gone"]},
        "roles": {"type": "array", "items": {"type": "string", "enum": list(ROLES)}},
        "recorder_slots": {
            **_SLOTS,
            "description": "The built-in recorder's capacity; null without the recorder role.",
        },
        "recorder_slots_in_use": {**_SLOTS, "description": "As of the last heartbeat."},
        "heartbeat_at": TIME,
        "seconds_since_heartbeat": _COUNT,
    },
}

NODES: JSON = {
    "type": "object",
    "description": "reckit extension: the nodes, and the app's recordings waiting for a recorder.",
    "required": ["nodes", "waiting"],
    "additionalProperties": False,
    "properties": {
        "nodes": {"type": "array", "items": ref("Node")},
        "waiting": {
            "type": "object",
            "required": ["count", "since", "reasons", "claim_timeout_s"],
            "additionalProperties": False,
            "properties": {
                "count": _COUNT,
                "since": {**nullable(TIME), "description": "When the oldest started."},
                "reasons": {
                    "type": "array",
                    "description": "Why they wait (read from the oldest 100), each with how many.",
                    "items": {
                        "type": "object",
                        "required": ["reason", "count"],
                        "additionalProperties": False,
                        "properties": {
                            "reason": {"type": "string", "minLength": 1},
                            "count": {"type": "integer", "minimum": 1},
                        },
                    },
                },
                "claim_timeout_s": _CLAIM_TIMEOUT,
            },
        },
    },
}

_BASE = "/accounts/{account_id}/realtime/kit/{app_id}"

PATHS: JSON = {
    f"{_BASE}/recordings/{{recording_id}}/waiting": {
        "get": operation(
            "get_recording_waiting",
            "reckit's extension: whether the recording waits for a recorder, and why",
            "Recordings (reckit extensions)",
            success(ref("RecordingWaiting")),
            parameters=[*PATH_PARAMS, RECORDING_ID],
            not_found="Unknown app or recording.",
        ),
    },
    f"{_BASE}/nodes": {
        "get": operation(
            "get_nodes",
            "reckit's extension: the nodes sharing the store, and why the app's recordings wait",
            "Nodes (reckit extensions)",
            success(ref("NodeList")),
        ),
    },
}

SCHEMAS: JSON = {"RecordingWaiting": WAITING, "Node": NODE, "NodeList": NODES}
