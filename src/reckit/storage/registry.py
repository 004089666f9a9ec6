"""Pick the destination for a storage config (wire-spec §2.4). Each backend, and with it its
SDK, loads only when a config needs it: a reckit that never delivers to Azure never imports
azure-storage-blob, and runs without it. The SDKs are optional extras (``reckit[s3]``,
``[azure]``, ``[gcs]``, ``[sftp]``, ``[all]``); a config whose SDK is not installed fails with
a non-retryable StorageError that names the extra to install (``base.sdk_of``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reckit.config import Settings
from reckit.storage.base import Destination, StorageError, sdk_of
from reckit.storage.bucket import Bucket
from reckit.storage.local import LocalBucket


def open_destination(
    config: Mapping[str, Any],
    endpoints: Mapping[str, str] | None = None,
    *,
    attempt_timeout_s: float | None = None,
) -> Destination:
    """``config``: a whole storage config, secrets included. ``endpoints``: per type, where
    its API is when it is not the vendor's public one (an S3-compatible server, an emulator);
    from RECKIT_STORAGE_ENDPOINT_<TYPE>. ``attempt_timeout_s``: the SDK's own timeouts and
    retries are kept within it (RECKIT_DELIVERY_ATTEMPT_TIMEOUT; None: the backend's own)."""
    kind = config.get("type")
    endpoint = (endpoints or {}).get(str(kind))
    budget = attempt_timeout_s
    if kind in ("aws", "digitalocean"):
        with sdk_of(kind):
            from reckit.storage.s3 import S3Destination
        return S3Destination(config, endpoint, attempt_timeout_s=budget)
    if kind == "azure":
        with sdk_of(kind):
            from reckit.storage.azure import AzureDestination
        return AzureDestination(config, endpoint, attempt_timeout_s=budget)
    if kind == "gcs":
        with sdk_of(kind):
            from reckit.storage.gcs import GcsDestination
        return GcsDestination(config, endpoint, attempt_timeout_s=budget)
    if kind == "sftp":
        with sdk_of(kind):
            from reckit.storage.sftp import SftpDestination
        return SftpDestination(config, endpoint, attempt_timeout_s=budget)
    raise StorageError(f"unknown storage type {kind!r}", retryable=False)


def open_bucket(settings: Settings) -> Bucket:
    """reckit's own bucket: the data directory, or S3 when RECKIT_BUCKET_URL says so."""
    if not settings.bucket_url:
        return LocalBucket(settings.media_dir)
    with sdk_of("aws", "RECKIT_BUCKET_URL (reckit's bucket in S3)"):
        from reckit.storage.s3_bucket import S3Bucket

    return S3Bucket(
        settings.bucket_url,
        settings.bucket_endpoint,
        settings.bucket_region,
        settings.bucket_access_key,
        settings.bucket_secret,
        settings.data_dir / "tmp",
    )
