"""A customer's Google Cloud Storage bucket. ``secret`` is the service account's JSON key.

A file above ``part_size`` goes up as a resumable upload in ``part_size`` chunks read from disk
(bounded memory for a 300 MB recording); a smaller one in a single request. The library checks
a CRC32C of what the server received; afterwards the object is read back and its size, and its
MD5 when the object has one, must match the file.

``endpoint`` (RECKIT_STORAGE_ENDPOINT_GCS; tests: a gcp-storage-emulator) is passed to this
client alone as its ``api_endpoint``, with anonymous credentials because an emulator has no
token service. The process-wide STORAGE_EMULATOR_HOST variable is not used: it would redirect
every GCS client in the process.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import google.auth.exceptions
from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import storage  # type: ignore[import-untyped]
from google.cloud.storage import exceptions as storage_exceptions  # type: ignore[import-untyped]
from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]
from google.oauth2 import service_account

from reckit.storage import base
from reckit.storage.base import Stat, StorageError

MiB = 1024 * 1024
# Resumable upload chunks must be a multiple of this (a GCS rule).
_CHUNK_UNIT = 256 * 1024
_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")


def _hex_md5(b64: str | None) -> str | None:
    """GCS reports MD5 as base64; composite objects have none."""
    if not b64:
        return None
    try:
        return base64.b64decode(b64, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def _service_account_info(config: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed service-account key. Errors name the field, never its content."""
    secret = config.get("secret")
    if isinstance(secret, Mapping):
        info: Any = dict(secret)
    else:
        text = base.required_str(config, "secret", "the service account's JSON key file")
        try:
            info = json.loads(text)
        except ValueError:
            raise base.config_error(
                config,
                "secret is not valid JSON; it must be the service account's JSON key file",
            ) from None
    if not isinstance(info, dict):
        raise base.config_error(
            config, "secret must be a JSON object (the service account's key file)"
        )
    if info.get("type", "service_account") != "service_account":
        raise base.config_error(
            config, "secret must be a service account key (type service_account)"
        )
    missing = [f for f in _SERVICE_ACCOUNT_FIELDS if not info.get(f)]
    if missing:
        raise base.config_error(
            config,
            f"secret lacks {', '.join(missing)}: use the service account's whole JSON key file",
        )
    return info


class GcsDestination:
    """``config``: a storage config of type ``gcs`` (wire-spec §2.4); ``region`` is not needed
    (a bucket's location is fixed). ``endpoint``: the JSON API's base URL when it is not
    Google's.

    ``part_size``: above it, resumable upload in chunks of this size (a multiple of 256 KiB).
    ``connect_timeout``/``read_timeout``: seconds, per request. ``retry_deadline``: seconds the
    library may spend retrying transient failures of one call (0 = no retries), so a failed
    delivery comes back to reckit's scheduler in bounded time. ``attempt_timeout_s`` (a
    delivery's attempt timeout) caps both timeouts at it, and the retry deadline at what is left
    of it after one request (no retries when one request may take all of it)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        endpoint: str | None = None,
        *,
        part_size: int = 8 * MiB,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retry_deadline: float = 120.0,
        attempt_timeout_s: float | None = None,
    ) -> None:
        if attempt_timeout_s is not None:
            connect_timeout = min(connect_timeout, attempt_timeout_s)
            read_timeout = min(read_timeout, attempt_timeout_s)
            retry_deadline = min(retry_deadline, attempt_timeout_s - connect_timeout - read_timeout)
        base.check_type(config, "gcs")
        if part_size < _CHUNK_UNIT or part_size % _CHUNK_UNIT:
            raise ValueError("part_size must be a positive multiple of 256 KiB")
        bucket = base.required_str(config, "bucket")
        self.bucket_name = bucket
        self.prefix = base.path_prefix(config)
        self.part_size = part_size
        self._timeout = (connect_timeout, read_timeout)
        self._retry: Retry | None = (
            DEFAULT_RETRY.with_timeout(retry_deadline) if retry_deadline > 0 else None
        )

        info = _service_account_info(config)
        try:
            key_credentials: Credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=["https://www.googleapis.com/auth/devstorage.read_write"]
            )
        except Exception:
            # The library's message may quote the key; say which field to fix instead.
            raise base.config_error(
                config,
                "the private_key in secret could not be read: use the service account's JSON "
                "key file as it was downloaded",
            ) from None
        # Setting an explicit project keeps the client from probing the environment (and the
        # GCE metadata server) for one; object calls do not use it.
        project = str(info.get("project_id") or "reckit")
        if endpoint is None:
            self._client = storage.Client(project=project, credentials=key_credentials)
        else:
            self._client = storage.Client(
                project=project,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": endpoint.rstrip("/")},
            )
        # With OpenTelemetry installed, the library looks buckets up in background threads
        # (with its own 120 s retry) just to label trace spans: stray threads and requests
        # outliving close(), needing a permission (storage.buckets.get) deliveries do not.
        # None is what the library itself checks for to skip it.
        self._client._bucket_metadata_cache = None
        self._bucket = self._client.bucket(bucket)

    def _key(self, key: str) -> str:
        return base.object_name(self.prefix, key)

    def _where(self, name: str) -> str:
        return f"gs://{self.bucket_name}/{name}"

    def put(self, key: str, source: Path, content_type: str) -> Stat:
        name = self._key(key)
        size = source.stat().st_size
        # A fresh Blob per upload: chunk_size on it makes the library send a resumable upload
        # in pieces of that size instead of its 100 MiB default, which it holds in memory.
        blob = self._bucket.blob(name, chunk_size=self.part_size)
        try:
            if size > self.part_size:
                with (
                    source.open("rb") as f,
                    blob.open(
                        "wb",
                        chunk_size=self.part_size,
                        content_type=content_type,
                        timeout=self._timeout,
                        retry=self._retry,
                    ) as writer,
                ):
                    shutil.copyfileobj(f, writer, self.part_size)
            else:
                blob.upload_from_filename(
                    str(source),
                    content_type=content_type,
                    timeout=self._timeout,
                    retry=self._retry,
                )
        except Exception as exc:
            raise self._error(exc, "upload", name) from None
        return base.landed_as_sent(self._where(name), self._stat(name, "read back"), source)

    def _stat(self, name: str, action: str) -> Stat | None:
        try:
            blob = self._bucket.get_blob(name, timeout=self._timeout, retry=self._retry)
        except Exception as exc:
            raise self._error(exc, action, name) from None
        if blob is None:
            # GCS answers 404 for a missing object and a missing bucket alike.
            self._check_bucket(name, action)
            return None
        return Stat(size=int(blob.size or 0), md5=_hex_md5(blob.md5_hash))

    def _check_bucket(self, name: str, action: str) -> None:
        try:
            exists = bool(self._bucket.exists(timeout=self._timeout, retry=self._retry))
        except api_exceptions.Forbidden:
            # Allowed to use objects but not to look at the bucket: it exists as far as we know.
            return
        except Exception as exc:
            raise self._error(exc, action, name) from None
        if not exists:
            raise base.missing_bucket("bucket", self.bucket_name, "check bucket")

    def stat(self, key: str) -> Stat | None:
        return self._stat(self._key(key), "look up")

    def get(self, key: str, dest: Path) -> None:
        name = self._key(key)
        try:
            with base.download_to(dest) as out:
                self._bucket.blob(name).download_to_file(
                    out, timeout=self._timeout, retry=self._retry
                )
        except api_exceptions.NotFound:
            self._check_bucket(name, "download")
            raise base.missing_object(f"could not download {self._where(name)}") from None
        except Exception as exc:
            raise self._error(exc, "download", name) from None

    def delete(self, key: str) -> None:
        name = self._key(key)
        try:
            self._bucket.blob(name).delete(timeout=self._timeout, retry=self._retry)
        except api_exceptions.NotFound:
            # Not there is what delete promises, as long as the bucket itself exists.
            self._check_bucket(name, "delete")
        except Exception as exc:
            raise self._error(exc, "delete", name) from None

    def close(self) -> None:
        self._client.close()

    def _error(self, exc: BaseException, action: str, name: str) -> StorageError:
        """A StorageError for ``exc``, from its status and class only: the library's messages
        carry request URLs and server text, and nothing from ``secret`` may reach a log."""
        where = f"could not {action} {self._where(name)}"
        # An error answer the library raised on may still hold its connection: give it back
        # now rather than when the exception is collected.
        response = getattr(exc, "response", None)
        close = getattr(response, "close", None)
        if callable(close):
            close()
        status: int | None = None
        if isinstance(exc, api_exceptions.RetryError):
            return StorageError(f"{where}: gave up after retrying transient failures")
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            status = int(exc.code) if exc.code is not None else None
        elif isinstance(exc, storage_exceptions.InvalidResponse):
            status = getattr(getattr(exc, "response", None), "status_code", None)
        elif isinstance(exc, google.auth.exceptions.RefreshError):
            retryable = bool(getattr(exc, "retryable", False))
            return StorageError(
                f"{where}: Google did not accept the service account in secret",
                retryable=retryable,
            )
        elif isinstance(exc, google.auth.exceptions.GoogleAuthError) and not isinstance(
            exc, google.auth.exceptions.TransportError
        ):
            # The auth library gave up on the credentials (a 401 it could not refresh past).
            return StorageError(
                f"{where}: the credentials were refused: check that secret is the right "
                "service account",
                retryable=False,
            )
        elif isinstance(exc, google.auth.exceptions.TransportError | OSError):
            # requests' connection errors and timeouts are OSErrors.
            return base.unreachable(where, exc)
        elif isinstance(exc, storage_exceptions.DataCorruption):
            return StorageError(f"{where}: the transfer was corrupted (checksum mismatch)")
        if status is None:
            return StorageError(f"{where}: {type(exc).__name__}")
        return base.status_error(
            where,
            status,
            refused="check that secret is the right service account and that it may write to "
            "the bucket",
            not_found="check bucket",
        )
