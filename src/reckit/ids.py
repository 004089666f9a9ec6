"""Identifier formats (decisions.md, Identifiers)."""

from __future__ import annotations

import re
import secrets
import uuid

# fullmatch: a "$" would also match before a final newline.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

MAX_ACCOUNT_ID = 32
MAX_APP_ID = 32


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_hex_id() -> str:
    """IDs reckit makes for accounts and apps: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def normalise_uuid(value: str) -> str:
    # wire-spec §7 item 23: IDs compare case-insensitively; we store them lowercase.
    return value.lower()
