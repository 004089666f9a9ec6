"""reckit's own bucket on the local disk: files by key under one directory. A file appears
under its key only once it is complete (written beside it, then renamed)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reckit.errors import BadRequest

_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


class Upload:
    def __init__(self, final: Path) -> None:
        self.final = final
        self.part = final.with_name(final.name + ".part")
        final.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = self.part.open("wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def commit(self, key: str, expected_sha256: str | None) -> Stored:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = self._hash.hexdigest()
        if expected_sha256 is not None and expected_sha256.lower() != digest:
            self.part.unlink(missing_ok=True)
            raise BadRequest(f"checksum mismatch for {key}: the file arrived as sha256 {digest}")
        os.replace(self.part, self.final)
        return Stored(key, self.size, digest)

    def abort(self) -> None:
        self._file.close()
        self.part.unlink(missing_ok=True)


class LocalBucket:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not parts or any(_KEY_PART.match(p) is None for p in parts):
            raise BadRequest(f"not a valid file key: {key!r}")
        return self.root.joinpath(*parts)

    def upload(self, key: str) -> Upload:
        return Upload(self.path(key))

    def stat(self, key: str) -> Stored | None:
        path = self.path(key)
        if not path.is_file():
            return None
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return Stored(key, path.stat().st_size, digest.hexdigest())
