"""A delivery's attempt timeout reaches every storage SDK: opened with a short
``attempt_timeout_s``, each backend gives up on a server that accepts the connection and never
answers (tests/netgate.py's black hole) with a retryable error, having tried once: no retry of
its own that could carry the attempt past its timeout (botocore's, google-cloud-storage's,
azure-core's; paramiko has none)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reckit.storage.base import StorageError
from reckit.storage.registry import open_destination
from tests.netgate import Gate
from tests.storage_servers import gcs_config, random_file, s3_config
from tests.storage_servers_az_sftp import closed_port, random_account_key


def _azure(port: int) -> dict[str, Any]:
    account = "reckittest"
    conn = (f"DefaultEndpointsProtocol=http;AccountName={account};"
            f"AccountKey={random_account_key()};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{account}")  # fmt: skip
    return {"type": "azure", "access_key": conn, "secret": "", "bucket": "calls", "region": ""}


def _sftp(port: int) -> dict[str, Any]:
    return {"type": "sftp", "host": "127.0.0.1", "port": port, "username": "u",
            "auth_method": "PASSWORD", "password": "black-hole-pw", "path": "x"}  # fmt: skip


# Per backend: its config for a server on the port, and whether the port is given as the
# type's endpoint (the object stores) or in the config (SFTP).
BACKENDS: dict[str, Callable[[int], tuple[dict[str, Any], str | None]]] = {
    "s3": lambda port: (s3_config("some-bucket"), f"http://127.0.0.1:{port}"),
    "gcs": lambda port: (gcs_config("some-bucket"), f"http://127.0.0.1:{port}"),
    "azure": lambda port: (_azure(port), None),
    "sftp": lambda port: (_sftp(port), None),
}


@pytest.fixture
def black_hole() -> Iterator[Gate]:
    gate = Gate(closed_port())
    gate.black_hole()
    yield gate
    gate.close()


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_a_server_that_never_answers_is_tried_once_within_the_attempt(
    backend: str, black_hole: Gate, tmp_path: Path
) -> None:
    config, endpoint = BACKENDS[backend](black_hole.port)
    kind = str(config["type"])
    endpoints = {kind: endpoint} if endpoint else {}
    dest = open_destination(config, endpoints, attempt_timeout_s=1)
    source = random_file(tmp_path / "in", 1000)
    try:
        with pytest.raises(StorageError) as caught:
            dest.put("k.mp4", source, "video/mp4")
    finally:
        dest.close()
    assert caught.value.retryable is True
    assert black_hole.accepted == 1
