"""The storage seam: the contract every destination implements (a customer's S3, DigitalOcean
Spaces, Azure Blob, Google Cloud Storage or SFTP server), the helpers the backends share to keep
it, and one conformance suite (tests/storage/test_storage_conformance.py) that runs the same cases
against every backend.

The contract (``Destination``):

- Keys are relative, ``/``-separated names such as ``meeting-1/rec.mp4``; a destination puts
  them under its config's ``path`` (nested parts become nested prefixes or directories). Other
  keys are the backend's to refuse (SFTP refuses empty, ``.`` and ``..`` parts; the object
  stores drop a leading or trailing ``/``).
- ``put(key, source, content_type)`` uploads ``source`` as ``key``, replacing what is there,
  then reads back what landed: the ``Stat`` it returns has the file's size, and the MD5 of its
  content when the destination reports one. Anything else (missing, another size, another MD5)
  is a retryable ``StorageError``. A transfer cut off halfway never shows under ``key`` where
  the destination can avoid it (SFTP writes beside it and renames).
- ``stat(key)`` is what is stored under ``key``, or None when nothing is. A missing bucket or
  container is an error (non-retryable), not None.
- ``get(key, dest)`` writes the object's bytes to the local file ``dest``. A key with nothing
  under it is a non-retryable ``StorageError`` naming the key (``missing_object``). On any
  failure ``dest`` is not left behind, so a partial download cannot pass for the object.
- ``delete(key)`` removes ``key``; nothing under it is not an error (it is idempotent). A
  missing bucket or container is.
- ``close()`` gives back connections; calling it again does nothing. A closed destination is
  not used again.

Errors: every failure is a ``StorageError`` (never the SDK's exception) whose message says what
a person can act on and never holds a secret (a key, a password, a connection string, a private
key), even when the SDK's own text would. ``retryable`` is True when the same call may succeed
later unchanged: the server did not answer or timed out, answered 5xx, 408, 429 or 409 (409 not
on Azure, whose conflicts are a blob's state), or what landed differs from what was sent. It is
False when only a changed config or a changed destination can help: a field missing or
malformed, credentials refused (401, 403), a bucket, container or key that is not there (404),
permission denied, the SDK not installed (``sdk_of``). Each backend keeps its SDK's timeouts
and own retries within the delivery's attempt timeout (``tries_within``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol


class StorageError(Exception):
    """A transfer failed. ``retryable`` is False when trying again cannot help (wrong
    credentials, a bucket that does not exist, a refused permission)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Stat:
    size: int
    # Hex MD5 of the content when the destination reports one; size alone otherwise (SFTP, an
    # S3 multipart upload, a large Azure or composite GCS object).
    md5: str | None = None


class Destination(Protocol):
    """One customer's storage, opened from a storage config. See the module docstring for what
    each method promises; not for use from several threads at once."""

    def put(self, key: str, source: Path, content_type: str) -> Stat:
        """Upload ``source`` as ``key`` (replacing it), then read back what landed."""
        ...

    def stat(self, key: str) -> Stat | None:
        """What is stored under ``key``, or None."""
        ...

    def get(self, key: str, dest: Path) -> None:
        """``key``'s bytes into ``dest``; a missing key is a non-retryable StorageError."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is not there."""
        ...

    def close(self) -> None:
        """Give back connections; idempotent."""
        ...


# -- SDKs: optional extras -------------------------------------------------------------------

# The extra (``pip install 'reckit[<extra>]'``) that brings each storage type's SDK.
EXTRAS = {"aws": "s3", "digitalocean": "s3", "azure": "azure", "gcs": "gcs", "sftp": "sftp"}


@contextlib.contextmanager
def sdk_of(kind: str, what: str | None = None) -> Iterator[None]:
    """Around the import of ``kind``'s backend: a module it cannot find (its SDK, or a part of
    the SDK's) becomes a non-retryable StorageError naming the extra to install. ``what``
    names who needs it (default: ``storage type <kind>``)."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "reckit":
            raise
        extra = EXTRAS[kind]
        raise StorageError(
            f"{what or f'storage type {kind}'} needs the reckit[{extra}] extra: "
            f"pip install 'reckit[{extra}]'",
            retryable=False,
        ) from None


# -- configs ---------------------------------------------------------------------------------


def config_error(config: Mapping[str, Any], problem: str) -> StorageError:
    """A field of ``config`` that no retry can fix: ``<type> storage: <problem>``. The problem
    names the field, never its value."""
    return StorageError(f"{config.get('type')} storage: {problem}", retryable=False)


def missing_field(config: Mapping[str, Any], field: str, hint: str = "") -> StorageError:
    """``<type> storage needs <field>[: <hint>]``, non-retryable."""
    return StorageError(
        f"{config.get('type')} storage needs {field}" + (f": {hint}" if hint else ""),
        retryable=False,
    )


def required_str(config: Mapping[str, Any], field: str, hint: str = "") -> str:
    """``config[field]``, a string that is not blank, or ``missing_field``."""
    value = config.get(field)
    if not isinstance(value, str) or not value.strip():
        raise missing_field(config, field, hint)
    return value


def check_type(config: Mapping[str, Any], *kinds: str) -> str:
    """The config's type, which must be one of ``kinds`` (a backend opened with another)."""
    kind = config.get("type")
    if kind not in kinds:
        raise StorageError(
            f"not a storage config of type {' or '.join(kinds)}: {kind!r}", retryable=False
        )
    return str(kind)


def path_prefix(config: Mapping[str, Any]) -> str:
    """A config's ``path`` as an object-name prefix: no leading or trailing slash ("" = root)."""
    return str(config.get("path") or "").strip("/")


def object_name(prefix: str, key: str) -> str:
    """``key`` under ``prefix``, for the object stores (S3, Azure, GCS)."""
    name = key.strip("/")
    if not name:
        raise StorageError("empty object key", retryable=False)
    return f"{prefix}/{name}" if prefix else name


# -- timeouts --------------------------------------------------------------------------------


def tries_within(budget_s: float | None, per_try_s: float, wanted: int) -> int:
    """How many tries (the first included) of up to ``per_try_s`` each fit one after another in
    ``budget_s``: at most ``wanted``, at least one. ``budget_s`` None: ``wanted``."""
    if budget_s is None:
        return wanted
    return max(1, min(wanted, int(budget_s // per_try_s)))


# -- transfers -------------------------------------------------------------------------------


def md5_of(path: Path) -> str:
    """Hex MD5 of a file (what the object stores report back), read in 1 MiB blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landed_as_sent(where: str, landed: Stat | None, source: Path) -> Stat:
    """``landed`` (what the destination holds right after ``source`` was put there), checked:
    it must be there, have the file's size, and its MD5 when the destination reports one. A
    retryable StorageError otherwise (a transfer that silently truncated is caught here)."""
    size = source.stat().st_size
    if landed is None:
        raise StorageError(f"{where} is missing right after its upload")
    if landed.size != size:
        raise StorageError(f"{where} holds {landed.size} bytes after uploading {size}")
    if landed.md5 is not None and landed.md5 != md5_of(source):
        raise StorageError(f"{where} does not have the MD5 of the uploaded file")
    return landed


@contextlib.contextmanager
def download_to(dest: Path) -> Iterator[BinaryIO]:
    """``dest`` open for writing; removed again if the block fails, so a partial download is
    never mistaken for the object."""
    try:
        with dest.open("wb") as out:
            yield out
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def missing_object(where: str) -> StorageError:
    """``get`` of a key with nothing under it: nothing to retry until something is put there."""
    return StorageError(f"{where}: no object under that key", retryable=False)


def missing_bucket(what: str, name: str, hint: str) -> StorageError:
    """The bucket or container itself is not there: a config to fix."""
    return StorageError(f"{what} {name!r} does not exist: {hint}", retryable=False)


# -- errors from answers ---------------------------------------------------------------------

# Statuses that may pass on their own: a timeout, a conflict with a request under way, too
# many requests. 5xx are retryable too.
TRANSIENT_STATUS = frozenset({408, 409, 429})


def retryable_status(status: int | None, transient: frozenset[int] = TRANSIENT_STATUS) -> bool:
    """Whether an HTTP(-ish) answer may pass on retry: no status at all, 5xx, or ``transient``."""
    return status is None or status >= 500 or status in transient


def status_error(
    where: str,
    status: int | None,
    code: str = "",
    *,
    refused: str,
    not_found: str,
    transient: frozenset[int] = TRANSIENT_STATUS,
    retryable: bool = False,
) -> StorageError:
    """A StorageError for an error answer, from its status and the service's error ``code``
    only (the service's text may echo request details). 401/403: refused, ``refused`` says what
    to check; 404: ``not_found`` says what to check; both non-retryable. Any other status is
    retryable per ``retryable_status`` (or when ``retryable``, for a code the backend knows to
    be transient)."""
    also = f" {code}" if code and code != str(status) else ""
    if status in (401, 403):
        return StorageError(f"{where}: refused (HTTP {status}{also}): {refused}", retryable=False)
    if status == 404:
        return StorageError(f"{where}: not found (HTTP 404{also}): {not_found}", retryable=False)
    detail = f"HTTP {status}{also}" if status is not None else code or "error"
    return StorageError(
        f"{where}: {detail}", retryable=retryable or retryable_status(status, transient)
    )


def unreachable(where: str, exc: BaseException) -> StorageError:
    """The server could not be reached or did not answer in time: retryable. Only the
    exception's type is told: its text may hold a URL with credentials in it."""
    return StorageError(f"{where}: the storage server did not answer ({type(exc).__name__})")
