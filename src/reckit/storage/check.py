"""``reckit storage check``: a small object round-tripped through a storage config, so a user
can verify credentials and permissions before recording anything."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reckit.storage.base import StorageError
from reckit.storage.registry import open_destination


def round_trip(config: Mapping[str, Any], endpoints: Mapping[str, str] | None = None) -> str:
    """Put, read back, compare and delete one object. The key used; StorageError if any step
    fails (the message says which)."""
    key = f"reckit-check-{secrets.token_hex(6)}.txt"
    payload = f"reckit storage check {key}\n".encode()
    destination = open_destination(config, endpoints)
    try:
        with tempfile.TemporaryDirectory(prefix="reckit-check-") as tmp:
            source, back = Path(tmp) / "up", Path(tmp) / "down"
            source.write_bytes(payload)
            # put itself reads back what landed (size, and MD5 where reported): see base.py.
            destination.put(key, source, "text/plain")
            destination.get(key, back)
            if back.read_bytes() != payload:
                raise StorageError("the object read back differs from the one written")
            destination.delete(key)
            if destination.stat(key) is not None:
                raise StorageError("the object is still there after it was deleted")
    finally:
        destination.close()
    return key
