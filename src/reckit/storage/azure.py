"""A customer's Azure Blob container (wire-spec §2.4: ``access_key`` is the account's connection
string, ``bucket`` the container, ``path`` an optional prefix inside it).

The container must already exist: it is the customer's, and creating it with their key would
hide a typo in ``bucket`` behind a fresh, empty container nobody looks at.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient, BlobServiceClient, ContentSettings, ExponentialRetry

from reckit.storage import base
from reckit.storage.base import Stat, StorageError

# Blocks of this size go up (and come down) at most ``_CONCURRENCY`` at a time, so one transfer
# holds a few MiB in memory whatever the recording's size. The SDK's own single-request limit
# (64 MiB) would read a whole file that size into memory first, hence the same value for both.
DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
_CONCURRENCY = 2

# Transient service answers: worth another try later. Not 409: Azure's conflicts are the
# blob's or container's state (a lease, a blob type, a container being deleted).
_TRANSIENT_STATUS = frozenset({408, 429})


def _connection_string(config: Mapping[str, Any], endpoint: str | None) -> str:
    """The connection string, with ``BlobEndpoint`` replaced by ``endpoint`` when given.

    Parsed here rather than by handing the SDK's client a new URL so that every credential a
    connection string can carry (account key, SAS token) keeps working with the override."""
    raw = base.required_str(config, "access_key", "the storage account's connection string")
    parts = [p.strip() for p in raw.strip().split(";") if p.strip()]
    if not parts or any("=" not in p or p.startswith("=") for p in parts):
        # Never echo the string itself: it holds the account key.
        raise base.config_error(config, "access_key is not a well-formed connection string")
    if endpoint:
        parts = [p for p in parts if p.split("=", 1)[0].strip().lower() != "blobendpoint"]
        parts.append(f"BlobEndpoint={endpoint.rstrip('/')}")
    return ";".join(parts)


def _code(exc: AzureError) -> str:
    """The service's error code (``ContainerNotFound``, ``BlobNotFound``...), which the storage
    SDK sets on its errors without declaring it on the class."""
    code = getattr(exc, "error_code", None)
    # Known codes arrive as a str enum whose str() is its qualified name, not the code.
    return str(getattr(code, "value", code) or "")


class AzureDestination:
    """Objects under ``path`` in one container. ``endpoint``, when given, is the blob service URL
    (as a connection string's ``BlobEndpoint``: ``http://127.0.0.1:10000/devstoreaccount1`` for
    Azurite) and wins over the one the connection string names.

    ``timeout`` bounds connecting and each read from the service; ``retries`` is how often the
    SDK itself retries a failed request before reckit's own retry logic sees the error.
    ``attempt_timeout_s`` (a delivery's attempt timeout) caps ``timeout`` at it, and the tries
    at as many as fit in it one after another (at least one, so maybe no retry)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        endpoint: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        block_size: int = DEFAULT_BLOCK_SIZE,
        attempt_timeout_s: float | None = None,
    ) -> None:
        if attempt_timeout_s is not None:
            timeout = min(timeout, attempt_timeout_s)
        # A try may wait ``timeout`` to connect and ``timeout`` for an answer.
        retries = base.tries_within(attempt_timeout_s, 2 * timeout, retries + 1) - 1
        base.check_type(config, "azure")
        self.container = base.required_str(config, "bucket", "the container's name")
        self.prefix = base.path_prefix(config)
        conn = _connection_string(config, endpoint)
        try:
            self._service = BlobServiceClient.from_connection_string(
                conn,
                connection_timeout=timeout,
                read_timeout=timeout,
                # The SDK's default backoff starts at 15 s and grows threefold: a delivery
                # would sit for minutes inside one call. Retry briefly here and leave longer
                # waits to reckit's own retries, which see ``retryable``.
                retry_policy=ExponentialRetry(
                    initial_backoff=1, increment_base=2, retry_total=retries, random_jitter_range=1
                ),
                max_single_put_size=block_size,
                max_block_size=block_size,
                max_single_get_size=block_size,
                max_chunk_get_size=block_size,
            )
        except ValueError:
            # The SDK's ValueError carries no secret today, but its wording is not ours to
            # trust; say what the customer has to fix.
            raise base.config_error(
                config,
                "access_key is not a connection string with an account name and key (or SAS)",
            ) from None

    def _name(self, key: str) -> str:
        return base.object_name(self.prefix, key)

    def _blob(self, key: str) -> BlobClient:
        return self._service.get_blob_client(self.container, self._name(key))

    def _error(self, exc: AzureError, action: str, key: str) -> StorageError:
        """Our error for an SDK error. Only status and error code go into the message: the
        SDK's own text may quote request URLs, which carry a SAS token when one is used."""
        what = self._what(action, key)
        if isinstance(exc, ClientAuthenticationError):
            return StorageError(
                f"{what}: authentication failed; check the account key in the connection string",
                retryable=False,
            )
        if isinstance(exc, HttpResponseError):
            code = _code(exc)
            if code == "ContainerNotFound":
                return base.missing_bucket("container", self.container, "check bucket")
            if code in ("AuthenticationFailed", "AuthorizationFailure"):
                return StorageError(f"{what}: authentication failed ({code})", retryable=False)
            return base.status_error(
                what,
                exc.status_code,
                code,
                refused="check the connection string's key and what it may do",
                not_found="check bucket and path",
                transient=_TRANSIENT_STATUS,
            )
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return base.unreachable(what, exc)
        return StorageError(f"{what}: {type(exc).__name__}", retryable=True)

    def _what(self, action: str, key: str) -> str:
        return f"Azure Blob: {action} {self._name(key)!r} in container {self.container!r}"

    def put(self, key: str, source: Path, content_type: str) -> Stat:
        blob = self._blob(key)
        try:
            with source.open("rb") as data:
                blob.upload_blob(
                    data,
                    length=source.stat().st_size,
                    overwrite=True,
                    max_concurrency=_CONCURRENCY,
                    content_settings=ContentSettings(content_type=content_type),
                )
            stored = self._read_stat(blob)
        except AzureError as exc:
            raise self._error(exc, "upload", key) from None
        return base.landed_as_sent(self._what("upload", key), stored, source)

    @staticmethod
    def _read_stat(blob: BlobClient) -> Stat | None:
        try:
            props = blob.get_blob_properties()
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                raise
            return None
        md5 = props.content_settings.content_md5
        return Stat(size=int(props.size), md5=bytes(md5).hex() if md5 else None)

    def stat(self, key: str) -> Stat | None:
        try:
            return self._read_stat(self._blob(key))
        except AzureError as exc:
            raise self._error(exc, "stat", key) from None

    def get(self, key: str, dest: Path) -> None:
        try:
            with base.download_to(dest) as out:
                self._blob(key).download_blob(max_concurrency=_CONCURRENCY).readinto(out)
        except AzureError as exc:
            if isinstance(exc, ResourceNotFoundError) and _code(exc) != "ContainerNotFound":
                raise base.missing_object(self._what("download", key)) from None
            raise self._error(exc, "download", key) from None

    def delete(self, key: str) -> None:
        try:
            self._blob(key).delete_blob()
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                raise self._error(exc, "delete", key) from None
        except AzureError as exc:
            raise self._error(exc, "delete", key) from None

    def close(self) -> None:
        self._service.close()
