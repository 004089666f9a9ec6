"""An in-memory destination for unit tests: a ``MemoryServer`` (buckets of objects in this
process, one pair of credentials, an address) and ``MemoryDestination``, which keeps the whole
Destination contract (src/reckit/storage/base.py) on one and passes the same conformance suite
as the real backends (tests/storage/test_storage_conformance.py). Its config looks like an object
store's, ``{"type": "memory", "bucket", "path", "access_key", "secret"}``, and its endpoint is
the server's address: at an address no server has (or one that was stopped) nothing answers.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reckit.storage import base
from reckit.storage.base import Stat

# The servers that answer, by address, and one lock for all their objects.
_SERVERS: dict[str, MemoryServer] = {}
_LOCK = threading.Lock()


class MemoryServer:
    def __init__(self) -> None:
        self.access_key = f"MEM{secrets.token_hex(8).upper()}"
        self.secret = secrets.token_urlsafe(24)
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.endpoint = f"memory://{secrets.token_hex(6)}"
        _SERVERS[self.endpoint] = self

    def stop(self) -> None:
        _SERVERS.pop(self.endpoint, None)

    def create_bucket(self) -> str:
        name = f"mem-{secrets.token_hex(6)}"
        with _LOCK:
            self.buckets[name] = {}
        return name

    def config(self, bucket: str, *, path: str = "", **overrides: Any) -> dict[str, Any]:
        return {
            "type": "memory",
            "bucket": bucket,
            "path": path,
            "access_key": self.access_key,
            "secret": self.secret,
            **overrides,
        }


class MemoryDestination:
    def __init__(self, config: Mapping[str, Any], endpoint: str | None) -> None:
        base.check_type(config, "memory")
        self._credentials = (
            base.required_str(config, "access_key"),
            base.required_str(config, "secret"),
        )
        self.bucket = base.required_str(config, "bucket")
        self.prefix = base.path_prefix(config)
        self.endpoint = endpoint or "memory://nowhere"
        self.closed = 0

    def _where(self, action: str, name: str) -> str:
        return f"could not {action} {self.bucket}/{name} (memory)"

    def _objects(self, action: str, name: str) -> dict[str, bytes]:
        """The bucket's objects, as the server lets this destination see them."""
        where = self._where(action, name)
        server = _SERVERS.get(self.endpoint)
        if server is None:
            raise base.unreachable(where, ConnectionRefusedError())
        if self._credentials != (server.access_key, server.secret):
            raise base.status_error(
                where, 403, refused="check access_key and secret", not_found="check bucket"
            )
        objects = server.buckets.get(self.bucket)
        if objects is None:
            raise base.missing_bucket("bucket", self.bucket, "check bucket")
        return objects

    def put(self, key: str, source: Path, content_type: str) -> Stat:
        del content_type
        name = base.object_name(self.prefix, key)
        data = source.read_bytes()
        with _LOCK:
            self._objects("upload", name)[name] = data
        return base.landed_as_sent(
            self._where("upload", name), self._stat(name, "read back"), source
        )

    def _stat(self, name: str, action: str) -> Stat | None:
        with _LOCK:
            data = self._objects(action, name).get(name)
        if data is None:
            return None
        return Stat(len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())

    def stat(self, key: str) -> Stat | None:
        return self._stat(base.object_name(self.prefix, key), "look up")

    def get(self, key: str, dest: Path) -> None:
        name = base.object_name(self.prefix, key)
        with _LOCK:
            data = self._objects("download", name).get(name)
        if data is None:
            raise base.missing_object(self._where("download", name))
        with base.download_to(dest) as out:
            out.write(data)

    def delete(self, key: str) -> None:
        name = base.object_name(self.prefix, key)
        with _LOCK:
            self._objects("delete", name).pop(name, None)

    def close(self) -> None:
        self.closed += 1
