"""OpenAPI paths and schemas of the apps (wire-spec §4)."""

from __future__ import annotations

from reckit.http.openapi.common import JSON

PATHS: JSON = {}
SCHEMAS: JSON = {}
