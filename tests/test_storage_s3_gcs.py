"""S3Destination and GcsDestination against real servers on 127.0.0.1: moto in server mode and
gcp-storage-emulator, each a subprocess started once per session (tests/storage_servers.py)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reckit.storage.base import Destination, StorageError
from reckit.storage.gcs import GcsDestination
from reckit.storage.registry import open_destination
from reckit.storage.s3 import S3Destination
from tests.storage_servers import (
    S3_ACCESS_KEY,
    S3_SECRET,
    _s3_admin,
    create_gcs_bucket,
    create_s3_bucket,
    enable_moto_auth,
    fixed_answer_server,
    free_port,
    gcs_config,
    gcs_emulator,
    make_gcs,
    make_s3,
    moto_server,
    new_bucket_name,
    random_file,
    s3_config,
)

MiB = 1024 * 1024
BACKENDS = ("s3", "gcs")
Factory = Callable[..., Destination]


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def gcs_url() -> Iterator[str]:
    with gcs_emulator() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server_url(backend: str, request: pytest.FixtureRequest) -> str:
    # Only the server the test needs is started.
    return str(request.getfixturevalue(f"{backend}_url"))


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


def raw_keys(dest: Destination, server_url: str) -> list[str]:
    """Every object name in the destination's bucket, listed straight from the server."""
    bucket = bucket_of(dest)
    if isinstance(dest, S3Destination):
        client = _s3_admin(server_url)
        try:
            listing = client.list_objects_v2(Bucket=bucket)
        finally:
            client.close()
        return sorted(str(o["Key"]) for o in listing.get("Contents", []))
    response = httpx.get(f"{server_url}/storage/v1/b/{bucket}/o", timeout=10.0)
    response.raise_for_status()
    return sorted(str(o["name"]) for o in response.json().get("items", []))


@pytest.mark.parametrize("size", [3 * MiB + 12345, 0])
def test_round_trip_is_byte_identical(new_dest: Factory, tmp_path: Path, size: int) -> None:
    dest = new_dest()
    source = random_file(tmp_path / "in.mp4", size)

    landed = dest.put("meeting/rec.mp4", source, "video/mp4")

    assert landed.size == size
    assert dest.stat("meeting/rec.mp4") == landed
    out = tmp_path / "out.mp4"
    dest.get("meeting/rec.mp4", out)
    assert out.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(("path", "prefix"), [("", ""), ("/recordings/2026/", "recordings/2026/")])
def test_keys_go_under_path(
    new_dest: Factory, server_url: str, tmp_path: Path, path: str, prefix: str
) -> None:
    dest = new_dest(path=path)
    source = random_file(tmp_path / "in.mp4", 1000)

    dest.put("a.mp4", source, "video/mp4")
    dest.put("/b/c.mp4", source, "video/mp4")

    assert raw_keys(dest, server_url) == [f"{prefix}a.mp4", f"{prefix}b/c.mp4"]
    stat = dest.stat("b/c.mp4")
    assert stat is not None
    assert stat.size == 1000


def test_put_replaces(new_dest: Factory, tmp_path: Path) -> None:
    dest = new_dest(path="p")
    dest.put("k.mp4", random_file(tmp_path / "one", 5000), "video/mp4")
    second = random_file(tmp_path / "two", 700)

    landed = dest.put("k.mp4", second, "video/mp4")

    assert landed.size == 700
    out = tmp_path / "out"
    dest.get("k.mp4", out)
    assert out.read_bytes() == second.read_bytes()


def test_delete_and_delete_of_missing_key(
    new_dest: Factory, server_url: str, tmp_path: Path
) -> None:
    dest = new_dest(path="p")
    dest.put("k.mp4", random_file(tmp_path / "in", 10), "video/mp4")

    dest.delete("k.mp4")
    dest.delete("k.mp4")
    dest.delete("never-there.mp4")

    assert dest.stat("k.mp4") is None
    assert raw_keys(dest, server_url) == []


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


def test_missing_bucket_is_not_retryable(backend: str, server_url: str, tmp_path: Path) -> None:
    bucket = new_bucket_name()
    dest: Destination = (
        make_s3(server_url, bucket=bucket)
        if backend == "s3"
        else make_gcs(server_url, bucket=bucket)
    )
    source = random_file(tmp_path / "in", 10)
    try:
        attempts: list[Callable[[], object]] = [
            lambda: dest.put("k.mp4", source, "video/mp4"),
            lambda: dest.stat("k.mp4"),
            lambda: dest.delete("k.mp4"),
            lambda: dest.get("k.mp4", tmp_path / "out"),
        ]
        for attempt in attempts:
            with pytest.raises(StorageError) as caught:
                attempt()
            assert caught.value.retryable is False
            assert "bucket" in str(caught.value)
    finally:
        dest.close()


def test_server_that_is_down_is_retryable(backend: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    dest: Destination
    if backend == "s3":
        config = s3_config("some-bucket")
        dest = S3Destination(config, url, connect_timeout=1, read_timeout=1, max_attempts=1)
    else:
        dest = GcsDestination(
            gcs_config("some-bucket"), url, connect_timeout=1, read_timeout=1, retry_deadline=0
        )
    source = random_file(tmp_path / "in", 10)
    try:
        attempts: list[Callable[[], object]] = [
            lambda: dest.put("k.mp4", source, "video/mp4"),
            lambda: dest.stat("k.mp4"),
            lambda: dest.delete("k.mp4"),
            lambda: dest.get("k.mp4", tmp_path / "out"),
        ]
        for attempt in attempts:
            with pytest.raises(StorageError) as caught:
                attempt()
            assert caught.value.retryable is True
            assert "did not answer" in str(caught.value)
    finally:
        dest.close()


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
def test_s3_wrong_credentials_are_not_retryable(tmp_path: Path) -> None:
    # A server of its own: switching moto's authentication on is process-wide.
    with moto_server() as url:
        bucket = create_s3_bucket(url)
        access_key, secret = enable_moto_auth(url)
        source = random_file(tmp_path / "in", 100)
        good = S3Destination(s3_config(bucket, access_key=access_key, secret=secret), url)
        try:
            assert good.put("k.mp4", source, "video/mp4").size == 100
        finally:
            good.close()

        wrong_secret = "x" * 40
        for config, code in (
            (
                s3_config(bucket, access_key=access_key, secret=wrong_secret),
                "SignatureDoesNotMatch",
            ),
            (s3_config(bucket, access_key=S3_ACCESS_KEY, secret=S3_SECRET), "InvalidAccessKeyId"),
        ):
            dest = S3Destination(config, url, max_attempts=1)
            try:
                with pytest.raises(StorageError) as caught:
                    dest.put("k.mp4", source, "video/mp4")
                assert caught.value.retryable is False
                message = str(caught.value)
                assert code in message
                for sensitive in (config["access_key"], config["secret"]):
                    assert sensitive not in message
                with pytest.raises(StorageError) as caught:
                    dest.stat("k.mp4")
                assert caught.value.retryable is False
            finally:
                dest.close()
    gc.collect()


def test_s3_config_without_keys_is_refused_before_any_request() -> None:
    # Without this, boto3 would quietly use the host's own AWS credentials.
    for field in ("access_key", "secret", "bucket"):
        config = s3_config("b")
        del config[field]
        with pytest.raises(StorageError, match=field) as caught:
            S3Destination(config, None)
        assert caught.value.retryable is False


def test_digitalocean_goes_through_the_same_code(s3_url: str, tmp_path: Path) -> None:
    dest = make_s3(s3_url, kind="digitalocean", path="spaces")
    try:
        source = random_file(tmp_path / "in.mp4", 4096)
        assert dest.put("rec.mp4", source, "video/mp4").size == 4096
        out = tmp_path / "out.mp4"
        dest.get("rec.mp4", out)
        assert out.read_bytes() == source.read_bytes()
    finally:
        dest.close()


def test_digitalocean_endpoint_comes_from_region() -> None:
    dest = S3Destination(s3_config("space", kind="digitalocean", region="SGP1"), None)
    try:
        # No request is made: only where the client would send one.
        assert dest._client.meta.endpoint_url == "https://sgp1.digitaloceanspaces.com"
        assert dest._client.meta.region_name == "sgp1"
    finally:
        dest.close()


def test_registry_opens_both_with_their_endpoints(
    s3_url: str, gcs_url: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "in", 321)
    configs = (s3_config(create_s3_bucket(s3_url)), gcs_config(create_gcs_bucket(gcs_url)))
    for config in configs:
        dest = open_destination(config, {"aws": s3_url, "gcs": gcs_url})
        try:
            assert dest.put("k", source, "application/octet-stream").size == 321
        finally:
            dest.close()


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
