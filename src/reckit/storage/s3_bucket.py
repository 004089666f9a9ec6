"""reckit's own bucket in S3-compatible object storage (RECKIT_BUCKET_URL=s3://bucket/prefix),
so that several reckit nodes share it. Files arrive through a temporary file on this node (the
recorder's upload is checked against its SHA-256 first), are read back after the put, and are
served to clients by presigned S3 links; the SHA-256 of each file is kept beside it (a small
``.sha256`` object), since S3 reports only an MD5 or a multipart ETag.
"""

from __future__ import annotations

import contextlib
import mimetypes
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from reckit.storage.base import StorageError
from reckit.storage.bucket import Stored, check_key, remove_stale_paths
from reckit.storage.local import LocalUpload
from reckit.storage.s3 import S3Destination

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_S = 7 * 86_400


def parse_bucket_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"RECKIT_BUCKET_URL must look like s3://bucket/prefix, not {url!r}")
    return parts.netloc, parts.path.strip("/")


class S3Upload:
    def __init__(self, bucket: S3Bucket, key: str) -> None:
        self.bucket = bucket
        self.key = key
        self._tmp = tempfile.TemporaryDirectory(prefix="reckit-upload-", dir=bucket.tmp_dir)
        self._local = LocalUpload(key, Path(self._tmp.name) / "file")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._local.write(chunk)
        self.size = self._local.size

    def commit(self, expected_sha256: str | None) -> Stored:
        try:
            stored = self._local.commit(expected_sha256)
            self.bucket.put_file(self.key, self._local.final, stored.sha256)
            return stored
        finally:
            self._tmp.cleanup()

    def abort(self) -> None:
        self._local.abort()
        self._tmp.cleanup()


class S3Bucket:
    def __init__(
        self,
        url: str,
        endpoint: str | None,
        region: str,
        access_key: str,
        secret: str,
        tmp_dir: Path,
    ) -> None:
        name, prefix = parse_bucket_url(url)
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.s3 = S3Destination(
            {
                "type": "aws",
                "bucket": name,
                "path": prefix,
                "region": region,
                "access_key": access_key,
                "secret": secret,
            },
            endpoint,
        )

    def put_file(self, key: str, path: Path, sha256: str) -> None:
        kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
        # put reads back what landed and compares it with the file (base.landed_as_sent).
        self.s3.put(check_key(key), path, kind)
        side = path.with_name(path.name + ".sha256")
        side.write_text(sha256)
        self.s3.put(f"{key}.sha256", side, "text/plain")

    def upload(self, key: str) -> S3Upload:
        return S3Upload(self, check_key(key))

    def stat(self, key: str) -> Stored | None:
        found = self.s3.stat(check_key(key))
        if found is None:
            return None
        with tempfile.TemporaryDirectory(prefix="reckit-stat-", dir=self.tmp_dir) as tmp:
            side = Path(tmp) / "sha256"
            try:
                self.s3.get(f"{key}.sha256", side)
                digest = side.read_text().strip()
            except StorageError:
                digest = ""
        return Stored(key, found.size, digest)

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="reckit-copy-", dir=self.tmp_dir) as tmp:
            path = Path(tmp) / "file"
            self.s3.get(check_key(key), path)
            yield path

    def delete(self, key: str) -> None:
        self.s3.delete(check_key(key))
        self.s3.delete(f"{key}.sha256")

    def presigned(self, key: str, expiry_ms: int, filename: str, now_ms: int) -> str:
        seconds = max(1, min(MAX_PRESIGN_S, (expiry_ms - now_ms + 999) // 1000))
        return self.s3.presigned_get(check_key(key), seconds, filename)

    def served_path(self, key: str) -> Path | None:
        return None  # clients fetch from S3 itself

    def remove_stale(self, older_than_s: float) -> int:
        return remove_stale_paths(self.tmp_dir.glob("reckit-*"), older_than_s)
