"""reckit's own bucket on the local disk (the default): files by key under one directory. A file
appears under its key only once it is complete and its checksum matched (written beside it,
then renamed). Its download links are reckit's own signed links (delivery/links.py)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from reckit.storage.bucket import KEY_PART, Stored, bad_checksum, bad_key, remove_stale_paths


class LocalUpload:
    def __init__(self, key: str, final: Path) -> None:
        self.key = key
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

    def commit(self, expected_sha256: str | None) -> Stored:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = self._hash.hexdigest()
        if expected_sha256 is not None and expected_sha256.lower() != digest:
            self.part.unlink(missing_ok=True)
            raise bad_checksum(self.key, digest)
        os.replace(self.part, self.final)
        return Stored(self.key, self.size, digest)

    def abort(self) -> None:
        self._file.close()
        self.part.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalBucket:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not parts or any(KEY_PART.match(p) is None for p in parts):
            raise bad_key(key)
        return self.root.joinpath(*parts)

    def upload(self, key: str) -> LocalUpload:
        return LocalUpload(key, self.path(key))

    def stat(self, key: str) -> Stored | None:
        path = self.path(key)
        if not path.is_file():
            return None
        return Stored(key, path.stat().st_size, sha256_of(path))

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        yield self.path(key)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def presigned(self, key: str, expiry_ms: int, filename: str, now_ms: int) -> str | None:
        # None: reckit serves the file itself, by its own signed link.
        return None

    def served_path(self, key: str) -> Path | None:
        path = self.path(key)
        return path if path.is_file() else None

    def remove_stale(self, older_than_s: float) -> int:
        # An upload writes as it receives: a .part nobody wrote to for that long is orphaned.
        if not self.root.is_dir():
            return 0
        return remove_stale_paths(self.root.rglob("*.part"), older_than_s)
