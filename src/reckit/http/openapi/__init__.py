"""The OpenAPI 3.1 document of everything reckit serves, assembled from one module per resource
and built from the same enums and bounds the code uses."""

from __future__ import annotations

from reckit.http.openapi import apps, meetings, nodes, options, recordings, webhooks
from reckit.http.openapi.common import COMMON_SCHEMAS, COMPONENT_PARAMETERS, JSON


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
            **recordings.PATHS,
            **meetings.PATHS,
            **apps.PATHS,
            **webhooks.PATHS,
            **nodes.PATHS,
        },
        "components": {
            "securitySchemes": {"api_token": {"type": "http", "scheme": "bearer"}},
            "parameters": COMPONENT_PARAMETERS,
            "schemas": {
                **COMMON_SCHEMAS,
                **options.SCHEMAS,
                **recordings.SCHEMAS,
                **meetings.SCHEMAS,
                **apps.SCHEMAS,
                **webhooks.SCHEMAS,
                **nodes.SCHEMAS,
            },
        },
    }
