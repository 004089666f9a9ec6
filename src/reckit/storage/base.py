"""The storage seam: one small protocol every destination implements (a customer's S3,
DigitalOcean Spaces, Azure Blob, Google Cloud Storage or SFTP server), and one shared
conformance test module (tests/test_storage_conformance.py) that every backend passes.

Keys are relative, ``/``-separated object names; a destination puts them under its config's
``path``. Backends raise ``StorageError`` with a reason a person can act on, never the SDK's
exception, and never a secret in the message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class StorageError(Exception):
    """A transfer failed. ``retryable`` is False when trying again cannot help (wrong
    credentials, a bucket that does not exist, a refused permission)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Stat:
    size: int
    # Hex MD5 or SHA-256 when the destination reports one; size alone otherwise.
    md5: str | None = None


class Destination(Protocol):
    def put(self, key: str, source: Path, content_type: str) -> Stat:
        """Upload ``source`` as ``key`` (replacing it), then read back what landed."""
        ...

    def stat(self, key: str) -> Stat | None:
        """What is stored under ``key``, or None."""
        ...

    def get(self, key: str, dest: Path) -> None: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is not there."""
        ...

    def close(self) -> None: ...


def path_prefix(config: Mapping[str, Any]) -> str:
    """A config's ``path`` as an object-name prefix: no leading or trailing slash ("" = root)."""
    return str(config.get("path") or "").strip("/")


def object_name(prefix: str, key: str) -> str:
    """``key`` under ``prefix``, for the object stores (S3, Azure, GCS)."""
    name = key.strip("/")
    if not name:
        raise StorageError("empty object key", retryable=False)
    return f"{prefix}/{name}" if prefix else name


def md5_of(path: Path) -> str:
    """Hex MD5 of a file (what the object stores report back), read in 1 MiB blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
