"""What is Azure Blob's or SFTP's own, against real servers: Azurite and OpenSSH's sshd, both
started on 127.0.0.1 once per session by tests/support/storage_servers_az_sftp.py. What every
backend promises (round trips, paths, deletes, missing keys, wrong credentials, unreachable
servers) is tested once for all in test_storage_conformance.py."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import pytest

from reckit.storage.azure import AzureDestination
from reckit.storage.base import Destination, StorageError
from tests.support.storage_servers_az_sftp import (
    AzuriteServer,
    SshdServer,
    make_azure,
    make_sftp,
)

pytest_plugins = ("tests.support.storage_fixtures",)  # the servers, once per session

MB = 1024 * 1024


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    big = tmp_path / "big.mp4"
    big.write_bytes(secrets.token_bytes(3 * MB + 12345))
    small = tmp_path / "small.mp4"
    small.write_bytes(b"replacement")
    return {"big": big, "small": small}


def round_trip(dest: Destination, source: Path, tmp_path: Path, key: str) -> None:
    """Put, stat and get back ``source`` byte for byte."""
    stat = dest.put(key, source, "video/mp4")
    assert stat.size == source.stat().st_size
    assert dest.stat(key) == stat
    back = tmp_path / "back"
    dest.get(key, back)
    assert back.read_bytes() == source.read_bytes()


def assert_no_secret(error: StorageError, *secrets_: str) -> None:
    text = str(error)
    for secret in secrets_:
        assert secret not in text


# -- Azure -----------------------------------------------------------------------------------


def test_azure_uploads_large_files_in_blocks(
    azurite: AzuriteServer, files: dict[str, Path], tmp_path: Path
) -> None:
    # Blocks smaller than the file: the staged-block path, not one request.
    dest = make_azure(azurite, block_size=MB)
    try:
        round_trip(dest, files["big"], tmp_path, "blocks/big.mp4")
    finally:
        dest.close()


def test_azure_endpoint_overrides_connection_string(
    azurite: AzuriteServer, files: dict[str, Path], tmp_path: Path
) -> None:
    # A connection string as the portal gives it (public endpoint suffix); the endpoint
    # setting sends it to the emulator instead.
    conn = (
        azurite.connection_string(with_endpoint=False)
        + "EndpointSuffix=core.windows.net;BlobEndpoint=https://elsewhere.invalid/"
    )
    config = {"type": "azure", "access_key": conn, "bucket": azurite.create_container()}
    dest = AzureDestination(config, azurite.endpoint, timeout=10, retries=0)
    try:
        round_trip(dest, files["small"], tmp_path, "override/small.mp4")
    finally:
        dest.close()


@pytest.mark.parametrize(
    "conn",
    ["", "not a connection string", "AccountName=x;AccountKey", "=abc;AccountName=x"],
)
def test_azure_malformed_connection_string_is_not_retryable(conn: str) -> None:
    with pytest.raises(StorageError) as caught:
        AzureDestination({"type": "azure", "access_key": conn, "bucket": "c"}, None)
    assert caught.value.retryable is False
    if conn:
        assert_no_secret(caught.value, conn)


# -- SFTP ------------------------------------------------------------------------------------


def test_sftp_relative_path_is_under_login_directory(
    sshd: SshdServer, files: dict[str, Path], tmp_path: Path
) -> None:
    # Relative to where the login starts: the account's home directory.
    home = Path(os.path.expanduser(f"~{sshd.username}"))
    if not home.is_dir():
        pytest.skip(f"{sshd.username} has no home directory")
    sub = f"reckit-test-{secrets.token_hex(4)}"
    dest = make_sftp(sshd, path=f"{sub}/x")
    try:
        dest.put("r.mp4", files["small"], "video/mp4")
        assert (home / sub / "x" / "r.mp4").read_bytes() == b"replacement"
        dest.delete("r.mp4")
    finally:
        dest.close()
        for leftover in (home / sub / "x", home / sub):
            if leftover.is_dir():
                leftover.rmdir()


@pytest.mark.parametrize("key", ["ed25519", "ed25519-passphrase", "rsa", "ecdsa"])
def test_sftp_key_types(sshd: SshdServer, files: dict[str, Path], key: str) -> None:
    dest = make_sftp(sshd, "KEY", key=key)
    try:
        assert dest.put("k.mp4", files["small"], "video/mp4").size == len(b"replacement")
    finally:
        dest.close()


@pytest.mark.parametrize("passphrase", [None, "wrong-passphrase"])
def test_sftp_encrypted_key_without_right_passphrase_is_not_retryable(
    sshd: SshdServer, passphrase: str | None
) -> None:
    with pytest.raises(StorageError) as caught:
        make_sftp(sshd, "KEY", key="ed25519-passphrase", password=passphrase)
    assert caught.value.retryable is False
    assert_no_secret(caught.value, sshd.keys["ed25519-passphrase"].private_pem)


def test_sftp_garbage_key_is_not_retryable(sshd: SshdServer) -> None:
    with pytest.raises(StorageError) as caught:
        make_sftp(sshd, "KEY", private_key="-----BEGIN NONSENSE-----\nabc\n")
    assert caught.value.retryable is False


def test_sftp_refuses_keys_leaving_path(sshd: SshdServer, files: dict[str, Path]) -> None:
    dest = make_sftp(sshd)
    try:
        for bad in ("../escape.mp4", "a//b.mp4", "/abs.mp4", "a/./b.mp4"):
            with pytest.raises(StorageError) as caught:
                dest.put(bad, files["small"], "video/mp4")
            assert caught.value.retryable is False
    finally:
        dest.close()


def test_sftp_permission_denied_is_not_retryable(sshd: SshdServer, files: dict[str, Path]) -> None:
    # A directory the login may not write into (root's, mode 0755).
    locked = sshd.root.parent / f"reckit-locked-{secrets.token_hex(4)}"
    locked.mkdir(mode=0o755)
    try:
        if os.geteuid() != 0:
            locked.chmod(0o555)
        dest = make_sftp(sshd, path=str(locked / "sub"))
        try:
            with pytest.raises(StorageError) as caught:
                dest.put("a.mp4", files["small"], "video/mp4")
        finally:
            dest.close()
        assert caught.value.retryable is False
    finally:
        locked.chmod(0o755)
        locked.rmdir()


def test_sftp_logs_the_host_key_it_accepts(
    sshd: SshdServer, files: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    # No known_hosts for customers' servers: any host key is taken, and its fingerprint logged
    # so that an operator can check it by hand.
    dest = make_sftp(sshd)
    try:
        with caplog.at_level(logging.INFO, logger="reckit.storage.sftp"):
            dest.put("a.mp4", files["small"], "video/mp4")
            dest.stat("a.mp4")  # the same connection: logged once
    finally:
        dest.close()
    lines = [r.getMessage() for r in caplog.records if "host key" in r.getMessage()]
    where = f"[{sshd.host}]:{sshd.port}"  # how paramiko names a host on a port not 22
    assert lines == [
        f"SFTP {where}: accepting unverified ssh-ed25519 host key {sshd.host_key_fingerprint}"
    ]


def test_sftp_reconnects_after_connection_drops(sshd: SshdServer, files: dict[str, Path]) -> None:
    dest = make_sftp(sshd)
    try:
        dest.put("a.mp4", files["small"], "video/mp4")
        client = dest._client
        assert client is not None
        client.close()  # As if the server had hung up between two deliveries.
        assert dest.stat("a.mp4") is not None
    finally:
        dest.close()
