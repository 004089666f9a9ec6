"""The Azure Blob and SFTP destinations against real servers: Azurite and OpenSSH's sshd, both
started on 127.0.0.1 by tests/storage_servers_az_sftp.py."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

from reckit.storage.azure import AzureDestination
from reckit.storage.base import Destination, StorageError
from reckit.storage.sftp import SftpDestination
from tests.storage_servers_az_sftp import (
    AzuriteServer,
    SshdServer,
    azurite_server,
    closed_port,
    generate_key,
    make_azure,
    make_sftp,
    random_account_key,
    sshd_server,
)

MB = 1024 * 1024


@pytest.fixture(scope="module")
def azurite() -> Iterator[AzuriteServer]:
    with azurite_server() as server:
        yield server


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdServer]:
    with sshd_server() as server:
        yield server


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    big = tmp_path / "big.mp4"
    big.write_bytes(secrets.token_bytes(3 * MB + 12345))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    small = tmp_path / "small.mp4"
    small.write_bytes(b"replacement")
    return {"big": big, "empty": empty, "small": small}


def round_trip(dest: Destination, files: dict[str, Path], tmp_path: Path, prefix: str) -> None:
    """Put, stat, get and delete, the way every destination must behave."""
    for name in ("big", "empty"):
        source = files[name]
        key = f"{prefix}/{name}.mp4"
        stat = dest.put(key, source, "video/mp4")
        assert stat.size == source.stat().st_size
        assert dest.stat(key) is not None
        assert dest.stat(key).size == source.stat().st_size  # type: ignore[union-attr]
        back = tmp_path / f"back-{name}"
        dest.get(key, back)
        assert back.read_bytes() == source.read_bytes()

    # Replacing a key leaves only the new content.
    key = f"{prefix}/big.mp4"
    assert dest.put(key, files["small"], "video/mp4").size == len(b"replacement")
    back = tmp_path / "back-replaced"
    dest.get(key, back)
    assert back.read_bytes() == b"replacement"

    dest.delete(key)
    assert dest.stat(key) is None
    dest.delete(key)  # Already gone: no error.
    dest.delete(f"{prefix}/never-there.mp4")
    assert dest.stat(f"{prefix}/empty.mp4") is not None


def assert_no_secret(error: StorageError, *secrets_: str) -> None:
    text = str(error)
    for secret in secrets_:
        assert secret not in text


# -- Azure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/recordings/2026/", "recordings"])
def test_azure_round_trip(
    azurite: AzuriteServer, files: dict[str, Path], tmp_path: Path, path: str
) -> None:
    container = azurite.create_container()
    dest = make_azure(azurite, container=container, path=path)
    try:
        round_trip(dest, files, tmp_path, "meeting-1")
    finally:
        dest.close()
    with azurite.service() as svc:
        names = [b.name for b in svc.get_container_client(container).list_blobs()]
    prefix = path.strip("/")
    assert names == [f"{prefix}/meeting-1/empty.mp4" if prefix else "meeting-1/empty.mp4"]


def test_azure_uploads_large_files_in_blocks(
    azurite: AzuriteServer, files: dict[str, Path], tmp_path: Path
) -> None:
    # Blocks smaller than the file: the staged-block path, not one request.
    dest = make_azure(azurite, block_size=MB)
    try:
        round_trip(dest, files, tmp_path, "blocks")
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
        round_trip(dest, files, tmp_path, "override")
    finally:
        dest.close()


def test_azure_get_missing_key_is_not_retryable(azurite: AzuriteServer, tmp_path: Path) -> None:
    dest = make_azure(azurite)
    try:
        with pytest.raises(StorageError) as caught:
            dest.get("nope.mp4", tmp_path / "x")
    finally:
        dest.close()
    assert caught.value.retryable is False
    assert not (tmp_path / "x").exists()


def test_azure_wrong_account_key_is_not_retryable(
    azurite: AzuriteServer, files: dict[str, Path]
) -> None:
    wrong = random_account_key()
    dest = make_azure(azurite, container=azurite.create_container(), key=wrong)
    try:
        with pytest.raises(StorageError) as caught:
            dest.put("a.mp4", files["small"], "video/mp4")
        assert caught.value.retryable is False
        assert "authentication failed" in str(caught.value)
        assert_no_secret(caught.value, wrong, azurite.key)
        with pytest.raises(StorageError) as caught:
            dest.stat("a.mp4")
        assert caught.value.retryable is False
    finally:
        dest.close()


def test_azure_missing_container_is_not_retryable(
    azurite: AzuriteServer, files: dict[str, Path], tmp_path: Path
) -> None:
    dest = make_azure(azurite, container="does-not-exist")
    try:
        with pytest.raises(StorageError, match="container") as caught:
            dest.put("a.mp4", files["small"], "video/mp4")
        assert caught.value.retryable is False
        calls: list[Callable[[], object]] = [
            lambda: dest.stat("a.mp4"),
            lambda: dest.get("a.mp4", tmp_path / "x"),
            lambda: dest.delete("a.mp4"),
        ]
        for call in calls:
            with pytest.raises(StorageError) as caught:
                call()
            assert caught.value.retryable is False
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


def test_azure_server_down_is_retryable(azurite: AzuriteServer, files: dict[str, Path]) -> None:
    port = closed_port()
    config = {
        "type": "azure",
        "access_key": azurite.connection_string(),
        "bucket": "c",
    }
    dest = AzureDestination(
        config, f"http://127.0.0.1:{port}/{azurite.account}", timeout=2, retries=0
    )
    try:
        with pytest.raises(StorageError) as caught:
            dest.put("a.mp4", files["small"], "video/mp4")
        assert caught.value.retryable is True
        assert_no_secret(caught.value, azurite.key)
        with pytest.raises(StorageError) as caught:
            dest.stat("a.mp4")
        assert caught.value.retryable is True
    finally:
        dest.close()


# -- SFTP ------------------------------------------------------------------------------------


def leftovers(root: Path) -> list[str]:
    return [
        str(Path(d, f).relative_to(root))
        for d, _, names in os.walk(root)
        for f in names
        if f.endswith(".part")
    ]


@pytest.mark.parametrize("auth", ["KEY", "PASSWORD"])
def test_sftp_round_trip(
    sshd: SshdServer,
    files: dict[str, Path],
    tmp_path: Path,
    auth: Literal["KEY", "PASSWORD"],
) -> None:
    base = sshd.root / f"{auth.lower()}-{secrets.token_hex(3)}"
    dest = make_sftp(sshd, auth, path=f"{base}/deep/er/")
    try:
        round_trip(dest, files, tmp_path, "meeting-1/2026")
    finally:
        dest.close()
    # Intermediate directories were made; only the remaining file is there, nothing ".part".
    on_disk = base / "deep" / "er" / "meeting-1" / "2026"
    assert sorted(p.name for p in on_disk.iterdir()) == ["empty.mp4"]
    assert leftovers(base) == []


def test_sftp_put_leaves_no_part_file(sshd: SshdServer, files: dict[str, Path]) -> None:
    base = sshd.root / secrets.token_hex(4)
    dest = make_sftp(sshd, path=str(base))
    try:
        dest.put("a/b.mp4", files["big"], "video/mp4")
        dest.put("a/b.mp4", files["small"], "video/mp4")
    finally:
        dest.close()
    assert (base / "a" / "b.mp4").read_bytes() == b"replacement"
    assert leftovers(base) == []


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


def test_sftp_wrong_password_is_not_retryable(sshd: SshdServer, files: dict[str, Path]) -> None:
    dest = make_sftp(sshd, "PASSWORD", password="wrong-password")
    try:
        with pytest.raises(StorageError) as caught:
            dest.put("a.mp4", files["small"], "video/mp4")
    finally:
        dest.close()
    assert caught.value.retryable is False
    assert_no_secret(caught.value, "wrong-password")


def test_sftp_unauthorized_key_is_not_retryable(sshd: SshdServer) -> None:
    stranger = generate_key("ed25519")
    dest = make_sftp(sshd, "KEY", private_key=stranger.private_pem)
    try:
        with pytest.raises(StorageError) as caught:
            dest.stat("a.mp4")
    finally:
        dest.close()
    assert caught.value.retryable is False


@pytest.mark.parametrize("passphrase", [None, "wrong-passphrase"])
def test_sftp_encrypted_key_without_right_passphrase_is_not_retryable(
    sshd: SshdServer, passphrase: str | None
) -> None:
    with pytest.raises(StorageError) as caught:
        make_sftp(sshd, "KEY", key="ed25519-passphrase", password=passphrase)
    assert caught.value.retryable is False
    assert_no_secret(caught.value, sshd.keys["ed25519-passphrase"].private_pem)


def test_sftp_get_missing_key_is_not_retryable(sshd: SshdServer, tmp_path: Path) -> None:
    dest = make_sftp(sshd)
    try:
        with pytest.raises(StorageError) as caught:
            dest.get("nope.mp4", tmp_path / "x")
    finally:
        dest.close()
    assert caught.value.retryable is False
    assert not (tmp_path / "x").exists()


def test_sftp_garbage_key_is_not_retryable(sshd: SshdServer) -> None:
    with pytest.raises(StorageError) as caught:
        make_sftp(sshd, "KEY", private_key="-----BEGIN NONSENSE-----\nabc\n")
    assert caught.value.retryable is False


def test_sftp_server_down_is_retryable(sshd: SshdServer, files: dict[str, Path]) -> None:
    dest = make_sftp(sshd, "KEY", port=closed_port(), timeout=2)
    try:
        with pytest.raises(StorageError) as caught:
            dest.put("a.mp4", files["small"], "video/mp4")
    finally:
        dest.close()
    assert caught.value.retryable is True


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


def test_sftp_destination_is_a_destination(sshd: SshdServer) -> None:
    dest: Destination = make_sftp(sshd)
    assert isinstance(dest, SftpDestination)
    dest.close()
