"""A customer's S3 bucket, or anything that speaks S3: DigitalOcean Spaces (``digitalocean``), or
an S3-compatible server given as the endpoint (RECKIT_STORAGE_ENDPOINT_AWS, a test's moto).

Uploads go through boto3's managed transfer: a file above ``part_size`` is sent as a multipart
upload in ``part_size`` pieces read from disk, so a 300 MB recording never sits in memory.
After the upload the object is read back with HEAD and its size (and MD5, when the ETag is one)
must match the file, so a transfer that silently truncated is caught here, not by the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from reckit.storage import base
from reckit.storage.base import Stat, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
_DOWNLOAD_ATTEMPTS = 5  # s3transfer's default
_E = TypeVar("_E", bound=BaseException)

# Error codes that no retry can fix: the customer has to change the config or the bucket.
_PERMANENT_CODES = {
    "AccessDenied": "the credentials are not allowed to do this: check the bucket policy",
    "AllAccessDisabled": "all access to the bucket is disabled",
    "AccountProblem": "the account behind access_key has a problem: check it with the provider",
    "InvalidAccessKeyId": "access_key is not known to the provider: check access_key",
    "SignatureDoesNotMatch": "the secret does not match access_key: check secret",
    "InvalidToken": "the credentials are not valid: check access_key and secret",
    "ExpiredToken": "the credentials have expired: issue new ones",
    "NoSuchBucket": "the bucket does not exist: check bucket (and region)",
    "InvalidBucketName": "the bucket name is not valid: check bucket",
    "PermanentRedirect": "the bucket is in another region: check region",
    "AuthorizationHeaderMalformed": "the region does not match the bucket: check region",
    "IllegalLocationConstraintException": "the region does not match the bucket: check region",
    "InvalidRequest": "the provider rejected the request",
    "EntityTooLarge": "the file is larger than the provider accepts",
}
# 4xx codes that are worth another try later.
_TRANSIENT_CODES = {
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequests",
    "OperationAborted",
    "BadDigest",
    "IncompleteBody",
}


def _etag_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, or None: a multipart upload's ETag (``<hex>-<parts>``) and
    an encrypted object's are not the MD5 of the content."""
    if not etag:
        return None
    value = etag.strip('"').lower()
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value):
        return value
    return None


class S3Destination:
    """``config``: a storage config of type ``aws`` or ``digitalocean`` (wire-spec §2.4).
    ``endpoint``: the S3 API URL when it is not the provider's public one.

    ``part_size``: multipart threshold and part size (S3 wants at least 5 MiB per part but the
    last; tests go lower against moto). ``connect_timeout``/``read_timeout`` are per request in
    seconds; ``max_attempts`` bounds botocore's own retries of throttling and 5xx answers per
    request (1 = no retry), so a failed delivery comes back to reckit's scheduler in bounded
    time. ``attempt_timeout_s`` (a delivery's attempt timeout) caps both timeouts at it, and
    botocore's tries at as many as fit in it one after another (at least one)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        endpoint: str | None = None,
        *,
        part_size: int = 8 * MiB,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 4,
        max_concurrency: int = 4,
        attempt_timeout_s: float | None = None,
    ) -> None:
        if attempt_timeout_s is not None:
            connect_timeout = min(connect_timeout, attempt_timeout_s)
            read_timeout = min(read_timeout, attempt_timeout_s)
        max_attempts = base.tries_within(
            attempt_timeout_s, connect_timeout + read_timeout, max_attempts
        )
        self.kind = base.check_type(config, "aws", "digitalocean")
        # Never let boto3 fall back to the host's own credentials (environment, ~/.aws, the
        # instance role): a customer's delivery must only ever use the customer's keys.
        access_key = base.required_str(config, "access_key")
        secret = base.required_str(config, "secret")
        self.bucket = base.required_str(config, "bucket")
        self.prefix = base.path_prefix(config)
        region = str(config.get("region") or "").strip()

        if endpoint is None and self.kind == "digitalocean":
            if not region:
                raise base.missing_field(config, "region", "the Space's region, e.g. SGP1")
            endpoint = f"https://{region.lower()}.digitaloceanspaces.com"
        # DigitalOcean names regions like SGP1 and signs with the lower-case name.
        signing_region = region.lower() if self.kind == "digitalocean" else region
        # Only AWS itself is sure to understand the newer CRC checksum headers and trailers
        # botocore sends by default; S3-compatible servers get the classic requests.
        aws_proper = self.kind == "aws" and endpoint is None
        checksums: Literal["when_supported", "when_required"] = (
            "when_supported" if aws_proper else "when_required"
        )
        client_config = Config(
            # SigV4 everywhere, presigned links included (SigV2 is deprecated).
            signature_version="s3v4",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Tries in all, the first included (botocore's own ``max_attempts`` counts retries
            # only: 1 there would still mean a second try).
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            # A given endpoint may be an IP address or a server without wildcard DNS, where
            # only path-style addressing works.
            s3={"addressing_style": "auto" if endpoint is None else "path"},
            request_checksum_calculation=checksums,
            response_checksum_validation=checksums,
        )
        self._client: S3Client = boto3.session.Session().client(
            "s3",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            region_name=signing_region or None,
            endpoint_url=endpoint,
            config=client_config,
        )
        self._transfer = TransferConfig(
            multipart_threshold=part_size,
            multipart_chunksize=part_size,
            max_concurrency=max_concurrency,
            # s3transfer's own retries of a download (5 by default), on top of botocore's:
            # within the attempt timeout too.
            num_download_attempts=base.tries_within(
                attempt_timeout_s, connect_timeout + read_timeout, _DOWNLOAD_ATTEMPTS
            ),
            # The CRT client, when installed, sizes its own parts and ignores ours.
            preferred_transfer_client="classic",
        )

    def _key(self, key: str) -> str:
        return base.object_name(self.prefix, key)

    def _where(self, key: str) -> str:
        return f"{self.bucket}/{key}"

    def put(self, key: str, source: Path, content_type: str) -> Stat:
        name = self._key(key)
        try:
            self._client.upload_file(
                str(source),
                self.bucket,
                name,
                ExtraArgs={"ContentType": content_type},
                Config=self._transfer,
            )
        except Exception as exc:
            raise self._error(exc, "upload", name) from None
        return base.landed_as_sent(self._where(name), self._head(name), source)

    def _head(self, name: str) -> Stat | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _status(exc) != 404:
                raise self._error(exc, "read back", name) from None
            # HEAD answers a bare 404 both for a missing key and a missing bucket.
            self._check_bucket(name)
            return None
        return Stat(size=head["ContentLength"], md5=_etag_md5(head.get("ETag")))

    def _check_bucket(self, name: str) -> None:
        """After a 404 for ``name``: a missing bucket is an error of its own."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            # 403: not allowed to look at the bucket itself; it exists as far as we can tell.
            if _status(exc) == 404:
                raise base.missing_bucket(
                    "bucket", self.bucket, "check bucket (and region)"
                ) from None
            if _status(exc) != 403:
                raise self._error(exc, "look up the bucket of", name) from None

    def stat(self, key: str) -> Stat | None:
        return self._head(self._key(key))

    def get(self, key: str, dest: Path) -> None:
        name = self._key(key)
        try:
            # download_file writes beside dest and renames, so dest is never half-written.
            self._client.download_file(self.bucket, name, str(dest), Config=self._transfer)
        except Exception as exc:
            if _status(exc) != 404:
                raise self._error(exc, "download", name) from None
            self._check_bucket(name)
            raise base.missing_object(
                f"could not download {self._where(name)} ({self.kind})"
            ) from None

    def delete(self, key: str) -> None:
        name = self._key(key)
        try:
            # S3 answers 204 for a key that is not there, which is what delete promises.
            self._client.delete_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            raise self._error(exc, "delete", name) from None

    def presigned_get(self, key: str, seconds: int, filename: str) -> str:
        """A URL that downloads ``key`` as ``filename`` for ``seconds``, without credentials.
        Signed locally: no request is made."""
        safe = "".join(c for c in filename if c.isprintable() and c not in '"\\')
        return self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": f'attachment; filename="{safe}"',
            },
            ExpiresIn=seconds,
        )

    def close(self) -> None:
        self._client.close()

    def _error(self, exc: BaseException, action: str, name: str) -> StorageError:
        """A StorageError for ``exc``. Built from the error code and status only: provider
        messages and boto3's wrappers can echo request details, and never the access key or
        secret may reach a log."""
        where = f"could not {action} {self._where(name)} ({self.kind})"
        client_error = _find(exc, botocore.exceptions.ClientError)
        if client_error is not None:
            code = str(client_error.response.get("Error", {}).get("Code", ""))
            if code in _PERMANENT_CODES:
                return StorageError(f"{where}: {code}: {_PERMANENT_CODES[code]}", retryable=False)
            return base.status_error(
                where,
                _status(client_error),
                code,
                refused="check access_key, secret and the bucket's permissions",
                not_found="check bucket and region",
                retryable=code in _TRANSIENT_CODES,
            )
        if _find(exc, botocore.exceptions.NoCredentialsError) is not None:
            return StorageError(f"{where}: no credentials", retryable=False)
        if _find(exc, botocore.exceptions.ParamValidationError) is not None:
            return StorageError(f"{where}: invalid request parameters", retryable=False)
        no_answer = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)
        if _find(exc, no_answer) is not None:
            return base.unreachable(where, exc)
        if isinstance(exc, OSError):
            return StorageError(f"{where}: {type(exc).__name__}: {exc.strerror}", retryable=True)
        return StorageError(f"{where}: {type(exc).__name__}", retryable=True)


def _status(exc: BaseException) -> int | None:
    """The HTTP status of an S3 error answer (boto3's transfer layer keeps the ClientError as
    the cause or context of its own exception); None for anything else."""
    client_error = _find(exc, botocore.exceptions.ClientError)
    if client_error is None:
        return None
    status = client_error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _find(exc: BaseException, kind: type[_E] | tuple[type[_E], ...]) -> _E | None:
    """``exc`` or the first exception in its cause/context chain that is a ``kind``: boto3's
    transfer layer re-raises a ClientError as S3UploadFailedError, keeping it as the context."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
