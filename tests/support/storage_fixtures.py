"""The storage servers as session fixtures: each starts once, for the first test of the session
that needs it, and stops at its end, however many modules use it. A storage test module takes
them with ``pytest_plugins = ("tests.support.storage_fixtures",)``; a module's own fixture of
the same name (a server of its own) still wins inside that module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.storage_memory import MemoryServer
from tests.support.storage_servers import (
    MotoWithAuth,
    gcs_emulator,
    moto_server,
    moto_server_with_auth,
)
from tests.support.storage_servers_az_sftp import (
    AzuriteServer,
    SshdServer,
    azurite_server,
    sshd_server,
)


@pytest.fixture(scope="session")
def moto() -> Iterator[str]:
    """moto's S3, accepting any credentials: the base URL."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def moto_auth() -> Iterator[MotoWithAuth]:
    """Another moto, checking credentials (switching that on is server-wide)."""
    with moto_server_with_auth() as server:
        yield server


@pytest.fixture(scope="session")
def gcs() -> Iterator[str]:
    """gcp-storage-emulator: the base URL."""
    with gcs_emulator() as url:
        yield url


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteServer]:
    with azurite_server() as server:
        yield server


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshdServer]:
    with sshd_server() as server:
        yield server


@pytest.fixture(scope="session")
def memory() -> Iterator[MemoryServer]:
    """The in-memory store (tests/support/storage_memory.py)."""
    server = MemoryServer()
    yield server
    server.stop()
