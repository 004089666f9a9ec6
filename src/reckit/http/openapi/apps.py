"""OpenAPI paths and schemas of the apps (wire-spec §4.2)."""

from __future__ import annotations

from reckit.apps.bodies import MAX_NAME
from reckit.apps.list_query import MAX_SEARCH
from reckit.http.openapi.common import JSON, TIME, operation, query_param, ref, success
from reckit.query import MAX_PAGE_NO, SORT_ORDERS
from reckit.recording_options import SPACE

APP: JSON = {
    "type": "object",
    "required": ["id", "created_at", "name"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "created_at": TIME,
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
    },
}

_POSITIVE: JSON = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NO}
_ACCOUNT = [{"$ref": "#/components/parameters/account_id"}]
_NO_NUL = "^[^\\u0000]*$"
# Not blank either: names are stored trimmed (str.strip, whose whitespace SPACE spells out).
_NAME_PATTERN = f"^[^\\u0000]*[^{SPACE}\\u0000][^\\u0000]*$"

PATHS: JSON = {
    "/accounts/{account_id}/realtime/kit/apps": {
        "get": operation(
            "get_apps",
            "Fetch the account's apps",
            "Apps",
            success({"type": "array", "items": ref("App")}, paging=True),
            ok_description="A page of apps.",
            parameters=[
                *_ACCOUNT,
                query_param(
                    "page_no",
                    {**_POSITIVE, "default": 1},
                    "Page number (1-based). A whole number; 2.0 is accepted.",
                    allowEmptyValue=True,
                ),
                query_param(
                    "per_page",
                    {**_POSITIVE, "default": 20},
                    "Results per page (larger values are clamped to the server's maximum).",
                    allowEmptyValue=True,
                ),
                query_param(
                    "search",
                    {"type": "string", "maxLength": MAX_SEARCH, "pattern": _NO_NUL},
                    "Name substring (case-insensitive).",
                ),
                query_param(
                    "sort_order",
                    {"type": "string", "enum": list(SORT_ORDERS), "default": "DESC"},
                    "Order by creation time.",
                ),
            ],
            not_found="Not used.",
        ),
        "post": operation(
            "create_app",
            "Create an app",
            "Apps",
            success(
                {
                    "type": "object",
                    "required": ["app"],
                    "additionalProperties": False,
                    "properties": {"app": ref("App")},
                }
            ),
            ok_description="The app, created (200, as Cloudflare answers).",
            parameters=_ACCOUNT,
            body={
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_NAME,
                        "pattern": _NAME_PATTERN,
                    }
                },
            },
            not_found="Not used.",
        ),
    },
}

SCHEMAS: JSON = {"App": APP}
