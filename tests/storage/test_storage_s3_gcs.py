"""What is S3's or GCS's own, against real servers on 127.0.0.1: moto in server mode and
gcp-storage-emulator, each a subprocess started once per session (tests/support/storage_servers.py).
What every backend promises is tested once for all in test_storage_conformance.py."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reckit.storage.base import Destination, StorageError
from reckit.storage.gcs import GcsDestination
from reckit.storage.s3 import S3Destination
from tests.support.storage_servers import (
    S3_ACCESS_KEY,
    S3_SECRET,
    MotoWithAuth,
    _s3_admin,
    fixed_answer_server,
    gcs_config,
    make_gcs,
    make_s3,
    random_file,
    s3_config,
)

pytest_plugins = ("tests.support.storage_fixtures",)  # the servers, once per session

MiB = 1024 * 1024
BACKENDS = ("s3", "gcs")
Factory = Callable[..., Destination]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server_url(backend: str, request: pytest.FixtureRequest) -> str:
    # Only the server the test needs is started.
    return str(request.getfixturevalue("moto" if backend == "s3" else "gcs"))


@pytest.fixture
def new_dest(backend: str, server_url: str) -> Iterator[Factory]:
    """Makes destinations on fresh buckets of the backend's server; closes them afterwards."""
    made: list[Destination] = []

    def factory(**kwargs: Any) -> Destination:
        dest: Destination = (
            make_s3(server_url, **kwargs) if backend == "s3" else make_gcs(server_url, **kwargs)
        )
        made.append(dest)
        return dest

    yield factory
    for dest in made:
        dest.close()


def bucket_of(dest: Destination) -> str:
    if isinstance(dest, S3Destination):
        return dest.bucket
    assert isinstance(dest, GcsDestination)
    return dest.bucket_name


def test_file_above_part_size_goes_up_in_parts(
    new_dest: Factory, backend: str, server_url: str, tmp_path: Path
) -> None:
    # S3 wants parts of at least 5 MiB (moto enforces it); GCS chunks are 256 KiB multiples.
    part_size = 5 * MiB if backend == "s3" else 256 * 1024
    size = 2 * part_size + 777
    dest = new_dest(part_size=part_size)
    source = random_file(tmp_path / "big.mp4", size)

    landed = dest.put("big.mp4", source, "video/mp4")

    assert landed.size == size
    out = tmp_path / "out.mp4"
    dest.get("big.mp4", out)
    assert out.read_bytes() == source.read_bytes()
    if backend == "s3":
        # A multipart upload's ETag is "<md5 of the part md5s>-<number of parts>".
        client = _s3_admin(server_url)
        try:
            etag = client.head_object(Bucket=bucket_of(dest), Key="big.mp4")["ETag"]
        finally:
            client.close()
        assert etag.strip('"').endswith("-3")
        assert landed.md5 is None


# google-resumable-media can drop an error answer's connection without closing it (seen once in
# about ten runs, with a 503); the socket is closed when collected. Collected here, under this
# filter, so the warning cannot land in whichever test the collector happens to run in.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
@pytest.mark.parametrize(("status", "retryable"), [(403, False), (401, False), (503, True)])
def test_refusal_and_overload_are_told_apart(
    backend: str, status: int, retryable: bool, tmp_path: Path
) -> None:
    # Neither emulator checks GCS credentials, so a server that refuses everything stands in.
    body = b"<Error><Code>Refused</Code><Message>no</Message></Error>" if backend == "s3" else b""
    source = random_file(tmp_path / "in", 100)
    with fixed_answer_server(status, body) as url:
        dest: Destination
        if backend == "s3":
            dest = S3Destination(s3_config("b"), url, read_timeout=10, max_attempts=1)
        else:
            dest = GcsDestination(gcs_config("b"), url, read_timeout=10, retry_deadline=0)
        try:
            attempts: list[Callable[[], object]] = [
                lambda: dest.put("k.mp4", source, "video/mp4"),
                lambda: dest.stat("k.mp4"),
                lambda: dest.get("k.mp4", tmp_path / "out"),
            ]
            for attempt in attempts:
                with pytest.raises(StorageError) as caught:
                    attempt()
                assert caught.value.retryable is retryable
        finally:
            dest.close()
        del caught
        gc.collect()


# botocore drops (without closing) the connection of a PUT that moto rejects before reading its
# body; the socket is only closed by the garbage collector. Collected here, under this filter.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_s3_wrong_credentials_name_the_code(moto_auth: MotoWithAuth, tmp_path: Path) -> None:
    # That they are refused, not retried, and not shown: test_storage_conformance.py.
    bucket = moto_auth.create_bucket()
    source = random_file(tmp_path / "in", 100)
    for config, code in (
        (
            s3_config(bucket, access_key=moto_auth.access_key, secret="x" * 40),
            "SignatureDoesNotMatch",
        ),
        (s3_config(bucket, access_key=S3_ACCESS_KEY, secret=S3_SECRET), "InvalidAccessKeyId"),
    ):
        dest = S3Destination(config, moto_auth.url, max_attempts=1)
        try:
            with pytest.raises(StorageError, match=code) as caught:
                dest.put("k.mp4", source, "video/mp4")
            assert caught.value.retryable is False
        finally:
            dest.close()
    del caught
    gc.collect()


def test_digitalocean_endpoint_comes_from_region() -> None:
    dest = S3Destination(s3_config("space", kind="digitalocean", region="SGP1"), None)
    try:
        # No request is made: only where the client would send one.
        assert dest._client.meta.endpoint_url == "https://sgp1.digitaloceanspaces.com"
        assert dest._client.meta.region_name == "sgp1"
    finally:
        dest.close()
    # Without an endpoint, the region is where the Space is: required.
    with pytest.raises(StorageError, match=r"^digitalocean storage needs region") as caught:
        S3Destination(s3_config("space", kind="digitalocean", region=""), None)
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ('{"type": "service_account", "private_key": "-----BEGIN', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"type": "service_account", "client_email": "a@b.c"}', "lacks private_key, token_uri"),
        (
            '{"type": "service_account", "client_email": "a@b.c", "token_uri": "https://t",'
            ' "private_key": "hunter2-not-a-key"}',
            "private_key",
        ),
        ('{"type": "authorized_user"}', "service_account"),
        ("", "needs secret"),
    ],
)
def test_gcs_bad_secret_is_not_retryable_and_not_echoed(secret: str, says: str) -> None:
    with pytest.raises(StorageError) as caught:
        GcsDestination(gcs_config("b", secret=secret), None)
    assert caught.value.retryable is False
    message = str(caught.value)
    assert says in message
    assert "secret" in message
    assert "hunter2" not in message
    assert "BEGIN" not in message
