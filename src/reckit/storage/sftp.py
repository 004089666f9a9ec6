"""A customer's SFTP server (wire-spec §2.4: ``host``, ``port``, ``username``, ``auth_method``
KEY or PASSWORD, ``password`` (the login password, or the private key's passphrase with KEY),
``private_key`` as PEM/OpenSSH text, ``path`` the directory files go under).

``path`` keeps its leading ``/``: ``/upload/rec`` is absolute on the server, ``rec`` is relative
to the directory the login starts in (usually the user's home or a chroot).

Host keys: reckit keeps no known_hosts for customers' servers and the API has no field to pin
one, so any host key is accepted (see ``_AcceptAndLogHostKey``).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import posixpath
import socket
import stat as stat_mode
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import paramiko

from reckit.storage import base
from reckit.storage.base import Stat, StorageError

log = logging.getLogger(__name__)

# Key types paramiko can load from text, tried in turn (their loaders do not sniff the type).
_KEY_CLASSES: tuple[type[paramiko.PKey], ...] = (
    paramiko.Ed25519Key,
    paramiko.ECDSAKey,
    paramiko.RSAKey,
)


class _AcceptAndLogHostKey(paramiko.MissingHostKeyPolicy):
    """Accept whatever host key the server shows, and log its fingerprint.

    Trade-off: this lets someone who can intercept reckit's connection to the customer's server
    impersonate it and receive the recording (and a password, with PASSWORD auth). Trust on first
    use would need somewhere durable to remember keys per storage config, which reckit does not
    have; remembering them only for the life of the process would fail deliveries after every
    legitimate host-key rotation while protecting nothing after a restart. Customers' servers
    are reached with the credentials they gave us, for data they asked us to send there; the
    logged fingerprint lets an operator check it by hand.

    TODO: accept an optional pinned host key (a ``host_key`` field, known_hosts line format) as
    a reckit extension of StorageConfig, and reject any other key when it is set.
    """

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        log.info(
            "SFTP %s: accepting unverified %s host key %s",
            hostname,
            key.get_name(),
            key.fingerprint,
        )


def _load_private_key(config: Mapping[str, Any], passphrase: str | None) -> paramiko.PKey:
    text = base.required_str(
        config, "private_key", "the key's PEM/OpenSSH text, with auth_method KEY"
    )
    text = text.replace("\r\n", "\n").strip() + "\n"
    for cls in _KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise base.config_error(
                config, "private_key is encrypted: set password to its passphrase"
            ) from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise base.config_error(
        config,
        "private_key could not be loaded (not an RSA, ECDSA or Ed25519 key in PEM/OpenSSH form, "
        "or a wrong passphrase)",
    )


class SftpDestination:
    """Files under ``path`` on one SFTP server, over one connection opened on first use and
    reopened if it drops. Not for use from several threads at once.

    ``timeout`` bounds the TCP connect, the SSH handshake, authentication and each SFTP request
    (paramiko never retries on its own); ``attempt_timeout_s`` (a delivery's attempt timeout)
    caps it. ``endpoint`` is accepted for the registry's sake and unused: the config names the
    server."""

    def __init__(
        self,
        config: Mapping[str, Any],
        endpoint: str | None = None,
        *,
        timeout: float = 30.0,
        attempt_timeout_s: float | None = None,
    ) -> None:
        del endpoint
        if attempt_timeout_s is not None:
            timeout = min(timeout, attempt_timeout_s)
        base.check_type(config, "sftp")
        self.host = base.required_str(config, "host")
        self.username = base.required_str(config, "username")
        try:
            port = int(config.get("port") or 22)
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            raise base.config_error(config, "port must be a number from 1 to 65535")
        self.port = port
        method = str(config.get("auth_method") or "").upper()
        password = config.get("password") or None
        if password is not None and not isinstance(password, str):
            raise base.config_error(config, "password must be a string")
        self._password: str | None = None
        self._pkey: paramiko.PKey | None = None
        if method == "PASSWORD":
            if password is None:
                raise base.missing_field(
                    config, "password", "the login's, with auth_method PASSWORD"
                )
            self._password = password
        elif method == "KEY":
            self._pkey = _load_private_key(config, password)
        else:
            raise base.config_error(config, "auth_method must be KEY or PASSWORD")
        raw_path = str(config.get("path") or "")
        absolute = raw_path.startswith("/")
        inner = raw_path.strip("/")
        self.root = ("/" + inner) if absolute else inner
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._made_dirs: set[str] = set()

    # -- connection ---------------------------------------------------------------------------

    def _where(self) -> str:
        return f"SFTP {self.username}@{self.host}:{self.port}"

    def _connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._sftp
            self._drop()
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_AcceptAndLogHostKey())
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.username,
                # With KEY, ``password`` is the key's passphrase: it must not be offered to the
                # server as a login password, so only PASSWORD passes it here.
                password=self._password,
                pkey=self._pkey,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                channel_timeout=self.timeout,
                # Only the customer's credentials: never reckit's own agent or ~/.ssh keys.
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.timeout)
        except paramiko.AuthenticationException:
            client.close()
            raise StorageError(
                f"{self._where()}: authentication failed; check the username and "
                + ("password" if self._password is not None else "private key"),
                retryable=False,
            ) from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            raise StorageError(
                f"{self._where()}: could not connect ({_describe(exc)})", retryable=True
            ) from None
        self._client, self._sftp = client, sftp
        return sftp

    def _drop(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        self._made_dirs.clear()
        if sftp is not None:
            sftp.close()
        if client is not None:
            client.close()

    def _fail(self, exc: BaseException, action: str, remote: str) -> StorageError:
        """Our error for a failed SFTP request. A refusal (no permission, no such directory)
        will not change on its own; anything else may be the connection, so drop it and let
        the next call reconnect."""
        code = exc.errno if isinstance(exc, OSError) else None
        if code in (errno.EACCES, errno.EPERM):
            return StorageError(
                f"{self._where()}: {action} {remote!r}: permission denied", retryable=False
            )
        if code == errno.ENOENT:
            return StorageError(
                f"{self._where()}: {action} {remote!r}: no such file or directory",
                retryable=False,
            )
        if not isinstance(exc, OSError) or isinstance(exc, socket.timeout | ConnectionError):
            self._drop()
        return StorageError(f"{self._where()}: {action} {remote!r}: {_describe(exc)}")

    # -- paths --------------------------------------------------------------------------------

    def _remote(self, key: str) -> str:
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise StorageError(f"not a valid object key: {key!r}", retryable=False)
        return posixpath.join(self.root, *parts) if self.root else "/".join(parts)

    def _make_dirs(self, sftp: paramiko.SFTPClient, directory: str) -> None:
        if not directory or directory in ("/", ".") or directory in self._made_dirs:
            return
        self._make_dirs(sftp, posixpath.dirname(directory))
        try:
            attrs = sftp.stat(directory)
        except FileNotFoundError:
            try:
                sftp.mkdir(directory)
            except OSError:
                # Another uploader may have made it meanwhile; only a missing directory is
                # an error.
                attrs = sftp.stat(directory)
                if not stat_mode.S_ISDIR(attrs.st_mode or 0):
                    raise
        else:
            if not stat_mode.S_ISDIR(attrs.st_mode or 0):
                raise StorageError(
                    f"{self._where()}: {directory!r} exists and is not a directory",
                    retryable=False,
                )
        self._made_dirs.add(directory)

    # -- Destination --------------------------------------------------------------------------

    def put(self, key: str, source: Path, content_type: str) -> Stat:
        del content_type  # SFTP stores bytes only.
        final = self._remote(key)
        part = final + ".part"
        size = source.stat().st_size
        sftp = self._connect()
        try:
            self._make_dirs(sftp, posixpath.dirname(final))
            with source.open("rb") as data:
                # Written under a temporary name, so a transfer cut off halfway never shows up
                # under the real one; ``confirm`` compares the remote size with what was sent.
                sftp.putfo(data, part, file_size=size, confirm=True)
            self._replace(sftp, part, final)
            attrs = sftp.stat(final)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            error = self._fail(exc, "upload", final)
            # A directory made earlier may be what has gone; check again next time.
            self._made_dirs.clear()
            if self._sftp is not None:
                # Never there, or the connection is gone: nothing more to do either way.
                with contextlib.suppress(OSError):
                    self._sftp.remove(part)
            raise error from None
        landed = None if attrs.st_size is None else Stat(size=attrs.st_size)
        return base.landed_as_sent(f"{self._where()}: {final!r}", landed, source)

    @staticmethod
    def _replace(sftp: paramiko.SFTPClient, part: str, final: str) -> None:
        try:
            # posix-rename@openssh.com replaces the target in one step.
            sftp.posix_rename(part, final)
        except OSError:
            # Servers without that extension: plain SFTP rename refuses to overwrite, so for a
            # moment the key is absent (never half-written).
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(final)
            sftp.rename(part, final)

    def stat(self, key: str) -> Stat | None:
        remote = self._remote(key)
        sftp = self._connect()
        try:
            attrs = sftp.stat(remote)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._fail(exc, "stat", remote) from None
        if not stat_mode.S_ISREG(attrs.st_mode or 0) or attrs.st_size is None:
            return None
        return Stat(size=attrs.st_size)

    def get(self, key: str, dest: Path) -> None:
        remote = self._remote(key)
        sftp = self._connect()
        try:
            with base.download_to(dest) as out:
                sftp.getfo(remote, out)
        except FileNotFoundError:
            raise base.missing_object(f"{self._where()}: download {remote!r}") from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._fail(exc, "download", remote) from None

    def delete(self, key: str) -> None:
        remote = self._remote(key)
        sftp = self._connect()
        try:
            sftp.remove(remote)
        except FileNotFoundError:
            pass
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._fail(exc, "delete", remote) from None

    def close(self) -> None:
        self._drop()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
