"""reckit's own bucket, where recordings wait for delivery and stay downloadable until they
expire: on the local disk (``local.py``, the default) or in S3-compatible object storage
(``s3_bucket.py``, RECKIT_BUCKET_URL=s3://bucket/prefix) for several reckit nodes."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reckit.errors import BadRequest

log = logging.getLogger("reckit.storage")
KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


class Upload(Protocol):
    size: int

    def write(self, chunk: bytes) -> None: ...

    def commit(self, expected_sha256: str | None) -> Stored:
        """Make the file appear under its key, if its SHA-256 is the one expected."""
        ...

    def abort(self) -> None: ...


class Bucket(Protocol):
    def upload(self, key: str) -> Upload: ...

    def stat(self, key: str) -> Stored | None: ...

    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A readable file with the key's content, for as long as the context lasts."""
        ...

    def delete(self, key: str) -> None: ...

    def presigned(self, key: str, expiry_ms: int, filename: str, now_ms: int) -> str | None:
        """A link the bucket itself serves until ``expiry_ms``; None if reckit serves it."""
        ...

    def served_path(self, key: str) -> Path | None:
        """The file reckit's download route serves for ``key``; None if there is none here."""
        ...

    def remove_stale(self, older_than_s: float) -> int:
        """Delete what a crash left half-made here (a partial upload, a temporary copy) that
        nothing has touched for ``older_than_s``; how many were deleted."""
        ...


def remove_stale_paths(paths: Iterable[Path], older_than_s: float) -> int:
    """Delete each file or directory in ``paths`` not modified for ``older_than_s``."""
    cutoff = time.time() - older_than_s
    removed = 0
    for path in paths:
        try:
            if path.stat().st_mtime > cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        log.info("removed %s, left half-made by an earlier run", path)
        removed += 1
    return removed


def bad_key(key: str) -> BadRequest:
    return BadRequest(f"not a valid file key: {key!r}")


def bad_checksum(key: str, digest: str) -> BadRequest:
    return BadRequest(f"checksum mismatch for {key}: the file arrived as sha256 {digest}")


def check_key(key: str) -> str:
    if not key or any(KEY_PART.match(p) is None for p in key.split("/")):
        raise bad_key(key)
    return key
