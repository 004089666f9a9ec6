"""The storage contract (``Destination``, src/reckit/storage/base.py), case by case, against
every backend: aws and digitalocean (moto in server mode), azure (Azurite), gcs
(gcp-storage-emulator), sftp by password and by key (OpenSSH's sshd), and the in-memory backend
for unit tests (tests/support/storage_memory.py). Each server starts once for the whole session
(tests/support/storage_fixtures.py), and each backend is opened the way reckit opens it: through the
registry, with the type's endpoint.

Not every case fits every backend, and one is not checked against the real thing:
- wrong credentials, gcs: gcp-storage-emulator checks none (and reckit, given an endpoint,
  sends none), so a server that refuses every request as GCS would (401) stands in for it;
- a missing bucket: the object stores and memory only (SFTP makes the directories it needs; a
  directory it may not write to is test_storage_az_sftp.py's permission test);
- a server that accepts and never answers (tried once within the attempt timeout): the network
  backends only.
Listings are compared whole, so a temporary file left behind (SFTP's ``.part``) fails them.
Backend-specific behaviour (multipart and block uploads, connection strings, service-account
keys, key types, host keys, relative paths, permissions, reconnecting) is tested beside each
backend: test_storage_s3_gcs.py, test_storage_az_sftp.py; the SDKs as optional extras in
test_storage_extras.py.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from reckit.storage.base import Destination, StorageError, md5_of
from reckit.storage.registry import open_destination
from tests.support.netgate import Gate
from tests.support.storage_memory import MemoryDestination, MemoryServer
from tests.support.storage_servers import (
    MotoWithAuth,
    _s3_admin,
    create_gcs_bucket,
    create_s3_bucket,
    fixed_answer_server,
    free_port,
    gcs_config,
    new_bucket_name,
    random_file,
    s3_config,
    service_account_json,
)
from tests.support.storage_servers_az_sftp import (
    AzuriteServer,
    SshdServer,
    azure_config,
    generate_key,
    random_account_key,
    sftp_config,
)

pytest_plugins = ("tests.support.storage_fixtures",)  # the servers, once per session

MiB = 1024 * 1024
NETWORK = ("aws", "digitalocean", "azure", "gcs", "sftp-password", "sftp-key")
BACKENDS = (*NETWORK, "memory")
WITH_BUCKETS = ("aws", "digitalocean", "azure", "gcs", "memory")
# The fields without which each backend refuses a config before any request.
REQUIRED = {
    "aws": ("access_key", "secret", "bucket"),
    "digitalocean": ("access_key", "secret", "bucket"),
    "azure": ("access_key", "bucket"),
    "gcs": ("bucket", "secret"),
    "sftp-password": ("host", "username", "password"),
    "sftp-key": ("host", "username", "private_key"),
    "memory": ("access_key", "secret", "bucket"),
}


@dataclass(frozen=True)
class Place:
    """Where a destination is: its config and endpoints, and ``root``, the fresh bucket,
    container or SFTP directory its ``path`` is in. ``secrets``: values no message may show."""

    config: dict[str, Any]
    endpoints: dict[str, str]
    root: str
    secrets: tuple[str, ...] = field(default=())


class Harness:
    """One backend as the suite drives it."""

    name: str

    def place(self, path: str = "") -> Place:
        """A working config, ``path`` as given, in a fresh bucket or directory."""
        raise NotImplementedError

    def listing(self, place: Place) -> list[str]:
        """Every name under ``place.root``, as the server holds it, sorted."""
        raise NotImplementedError

    def wrong_credentials(self) -> contextlib.AbstractContextManager[tuple[Place | None, Place]]:
        """Two configs for one server that checks credentials: with the right ones (None for a
        stand-in that refuses everyone), and with credentials it does not know."""
        raise NotImplementedError

    def at(self, address: str) -> Place:
        """A config for a server at ``address`` (``127.0.0.1:<port>``)."""
        raise NotImplementedError

    def missing_bucket(self) -> Place:
        raise NotImplementedError

    def open(self, place: Place, attempt_timeout_s: float | None = None) -> Destination:
        return open_destination(place.config, place.endpoints, attempt_timeout_s=attempt_timeout_s)


class S3Harness(Harness):
    def __init__(self, kind: str, url: str, auth: Callable[[], MotoWithAuth]) -> None:
        self.name, self.kind, self.url, self._auth = kind, kind, url, auth

    def place(self, path: str = "") -> Place:
        bucket = create_s3_bucket(self.url)
        config = s3_config(bucket, kind=self.kind, path=path)
        return Place(config, {self.kind: self.url}, bucket, (config["secret"],))

    def listing(self, place: Place) -> list[str]:
        client = _s3_admin(self.url)
        try:
            found = client.list_objects_v2(Bucket=place.root).get("Contents", [])
        finally:
            client.close()
        return sorted(str(o["Key"]) for o in found)

    @contextlib.contextmanager
    def wrong_credentials(self) -> Iterator[tuple[Place | None, Place]]:
        auth = self._auth()
        bucket = auth.create_bucket()
        wrong = secrets.token_urlsafe(30)
        key, endpoints = auth.access_key, {self.kind: auth.url}
        right = s3_config(bucket, kind=self.kind, access_key=key, secret=auth.secret)
        config = s3_config(bucket, kind=self.kind, access_key=key, secret=wrong)
        yield (
            Place(right, endpoints, bucket),
            Place(config, endpoints, bucket, (wrong, auth.secret)),
        )

    def at(self, address: str) -> Place:
        config = s3_config("some-bucket", kind=self.kind)
        return Place(config, {self.kind: f"http://{address}"}, "some-bucket", (config["secret"],))

    def missing_bucket(self) -> Place:
        bucket = new_bucket_name()
        return Place(s3_config(bucket, kind=self.kind), {self.kind: self.url}, bucket)


class GcsHarness(Harness):
    name = "gcs"

    def __init__(self, url: str) -> None:
        self.url = url

    def place(self, path: str = "") -> Place:
        bucket = create_gcs_bucket(self.url)
        config = gcs_config(bucket, path=path)
        return Place(config, {"gcs": self.url}, bucket, (config["secret"],))

    def listing(self, place: Place) -> list[str]:
        response = httpx.get(f"{self.url}/storage/v1/b/{place.root}/o", timeout=10.0)
        response.raise_for_status()
        return sorted(str(o["name"]) for o in response.json().get("items", []))

    @contextlib.contextmanager
    def wrong_credentials(self) -> Iterator[tuple[Place | None, Place]]:
        # The stand-in: the emulator accepts anyone (see the module docstring).
        with fixed_answer_server(401) as url:
            config = gcs_config("b", secret=service_account_json())
            key = str(json.loads(config["secret"])["private_key"])
            yield None, Place(config, {"gcs": url}, "b", (config["secret"], key.splitlines()[1]))

    def at(self, address: str) -> Place:
        return Place(gcs_config("some-bucket"), {"gcs": f"http://{address}"}, "some-bucket")

    def missing_bucket(self) -> Place:
        bucket = new_bucket_name()
        return Place(gcs_config(bucket), {"gcs": self.url}, bucket)


class AzureHarness(Harness):
    name = "azure"

    def __init__(self, server: AzuriteServer) -> None:
        self.server = server

    def place(self, path: str = "") -> Place:
        config = azure_config(self.server, path=path)
        return Place(config, {}, config["bucket"], (self.server.key,))

    def listing(self, place: Place) -> list[str]:
        with self.server.service() as service:
            blobs = service.get_container_client(place.root).list_blobs()
            return sorted(str(b.name) for b in blobs)

    @contextlib.contextmanager
    def wrong_credentials(self) -> Iterator[tuple[Place | None, Place]]:
        wrong = random_account_key()
        config = azure_config(self.server, key=wrong)
        right = {**config, "access_key": self.server.connection_string()}
        container = config["bucket"]
        yield (
            Place(right, {}, container),
            Place(config, {}, container, (wrong, self.server.key)),
        )

    def at(self, address: str) -> Place:
        config = azure_config(self.server, container="some-container")
        endpoint = f"http://{address}/{self.server.account}"
        return Place(config, {"azure": endpoint}, "some-container", (self.server.key,))

    def missing_bucket(self) -> Place:
        container = f"missing-{secrets.token_hex(4)}"
        return Place(azure_config(self.server, container=container), {}, container)


class SftpHarness(Harness):
    def __init__(self, server: SshdServer, auth: Literal["KEY", "PASSWORD"]) -> None:
        self.name = f"sftp-{auth.lower()}"
        self.server, self.auth = server, auth

    def _secrets(self, config: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(config[f]) for f in ("password", "private_key") if config.get(f))

    def place(self, path: str = "") -> Place:
        base = self.server.root / f"{self.name}-{secrets.token_hex(4)}"
        inner = path.strip("/")
        config = sftp_config(self.server, self.auth, path=f"{base}/{inner}" if inner else str(base))
        return Place(config, {}, str(base), self._secrets(config))

    def listing(self, place: Place) -> list[str]:
        root = Path(place.root)
        return sorted(
            str(Path(d, f).relative_to(root)) for d, _, names in os.walk(root) for f in names
        )

    @contextlib.contextmanager
    def wrong_credentials(self) -> Iterator[tuple[Place | None, Place]]:
        right = self.place()
        if self.auth == "PASSWORD":
            wrong = {"password": f"wrong-{secrets.token_hex(8)}"}
        else:
            wrong = {"private_key": generate_key("ed25519").private_pem}  # not authorized
        config = {**right.config, **wrong}
        yield right, Place(config, {}, right.root, self._secrets(config))

    def at(self, address: str) -> Place:
        host, port = address.rsplit(":", 1)
        config = sftp_config(self.server, self.auth, host=host, port=int(port))
        return Place(config, {}, str(config["path"]), self._secrets(config))


class MemoryHarness(Harness):
    name = "memory"

    def __init__(self, server: MemoryServer) -> None:
        self.server = server

    def place(self, path: str = "") -> Place:
        bucket = self.server.create_bucket()
        config = self.server.config(bucket, path=path)
        return Place(config, {"memory": self.server.endpoint}, bucket, (self.server.secret,))

    def listing(self, place: Place) -> list[str]:
        return sorted(self.server.buckets[place.root])

    @contextlib.contextmanager
    def wrong_credentials(self) -> Iterator[tuple[Place | None, Place]]:
        right = self.place()
        wrong = secrets.token_urlsafe(24)
        config = {**right.config, "secret": wrong}
        yield right, Place(config, right.endpoints, right.root, (wrong, self.server.secret))

    def at(self, address: str) -> Place:
        config = self.server.config("some-bucket")
        return Place(config, {"memory": f"memory://{address}"}, "some-bucket", (config["secret"],))

    def missing_bucket(self) -> Place:
        bucket = f"missing-{secrets.token_hex(4)}"
        return Place(self.server.config(bucket), {"memory": self.server.endpoint}, bucket)

    def open(self, place: Place, attempt_timeout_s: float | None = None) -> Destination:
        return MemoryDestination(place.config, place.endpoints.get("memory"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Harness:
    """The backend under test; only its own server is started."""
    name = str(request.param)
    get = request.getfixturevalue
    if name in ("aws", "digitalocean"):
        return S3Harness(name, get("moto"), lambda: get("moto_auth"))
    if name == "azure":
        return AzureHarness(get("azurite"))
    if name == "gcs":
        return GcsHarness(get("gcs"))
    if name == "sftp-password":
        return SftpHarness(get("sshd"), "PASSWORD")
    if name == "sftp-key":
        return SftpHarness(get("sshd"), "KEY")
    return MemoryHarness(get("memory"))


@pytest.fixture
def opened(backend: Harness) -> Iterator[Callable[..., Destination]]:
    """Opens destinations of the backend; closes them after the test."""
    made: list[Destination] = []

    def open_(place: Place, attempt_timeout_s: float | None = None) -> Destination:
        dest = backend.open(place, attempt_timeout_s)
        made.append(dest)
        return dest

    yield open_
    for dest in made:
        dest.close()


def refused(call: Callable[[], object], place: Place) -> StorageError:
    """The StorageError ``call`` raises, after checking it shows none of the place's secrets."""
    with pytest.raises(StorageError) as caught:
        call()
    for secret in place.secrets:
        assert secret not in str(caught.value)
    return caught.value


def put_and_read_back(dest: Destination, key: str, source: Path) -> None:
    """Put ``source`` as ``key``; what put reports, stat reports, and get brings back the same
    bytes."""
    landed = dest.put(key, source, "video/mp4")
    assert landed.size == source.stat().st_size
    assert landed.md5 in (None, md5_of(source))
    assert dest.stat(key) == landed
    out = source.with_name(source.name + ".back")
    dest.get(key, out)
    assert out.read_bytes() == source.read_bytes()


def every_call(dest: Destination, source: Path, out: Path) -> list[Callable[[], object]]:
    """put, stat, get and delete of one key."""
    return [
        lambda: dest.put("k.mp4", source, "video/mp4"),
        lambda: dest.stat("k.mp4"),
        lambda: dest.get("k.mp4", out),
        lambda: dest.delete("k.mp4"),
    ]


# -- the cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 11, 3 * MiB + 12345])
def test_put_stat_get_round_trip_is_byte_identical(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path, size: int
) -> None:
    dest = opened(backend.place("recordings"))
    put_and_read_back(dest, "meeting-1/rec.mp4", random_file(tmp_path / "in.mp4", size))


def test_put_replaces_an_existing_key(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    place = backend.place("p")
    dest = opened(place)
    put_and_read_back(dest, "k.mp4", random_file(tmp_path / "one", 5000))
    put_and_read_back(dest, "k.mp4", random_file(tmp_path / "two", 700))
    assert backend.listing(place) == ["p/k.mp4"]  # nothing else (SFTP: no ".part" left)


@pytest.mark.parametrize(
    ("path", "prefix"),
    [("", ""), ("recordings", "recordings/"), ("/recordings/2026/", "recordings/2026/")],
)
def test_keys_nest_under_the_configs_path(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path, path: str, prefix: str
) -> None:
    place = backend.place(path)
    dest = opened(place)
    source = random_file(tmp_path / "in.mp4", 1000)

    dest.put("a.mp4", source, "video/mp4")
    dest.put("meeting-1/2026/b.mp4", source, "video/mp4")

    assert backend.listing(place) == [f"{prefix}a.mp4", f"{prefix}meeting-1/2026/b.mp4"]
    stat = dest.stat("meeting-1/2026/b.mp4")
    assert stat is not None and stat.size == 1000
    assert dest.stat("meeting-1/b.mp4") is None


def test_stat_of_a_missing_key_is_none(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    dest = opened(backend.place("p"))
    assert dest.stat("never-there.mp4") is None
    dest.put("here.mp4", random_file(tmp_path / "in", 10), "video/mp4")
    assert dest.stat("never-there.mp4") is None
    assert dest.stat("here.mp4/deeper.mp4") is None


def test_delete_is_idempotent(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    place = backend.place("p")
    dest = opened(place)
    dest.put("m/k.mp4", random_file(tmp_path / "in", 10), "video/mp4")
    dest.put("m/stays.mp4", random_file(tmp_path / "in", 10), "video/mp4")

    dest.delete("m/k.mp4")
    dest.delete("m/k.mp4")
    dest.delete("never-there.mp4")
    dest.delete("never/there/either.mp4")

    assert dest.stat("m/k.mp4") is None
    assert backend.listing(place) == ["p/m/stays.mp4"]


def test_get_of_a_missing_key_is_not_retryable_and_leaves_no_file(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    place = backend.place("p")
    dest = opened(place)
    dest.put("here.mp4", random_file(tmp_path / "in", 10), "video/mp4")

    for key in ("nope.mp4", "deep/nope.mp4"):
        error = refused(functools.partial(dest.get, key, tmp_path / "out"), place)
        assert error.retryable is False
        assert "nope.mp4" in str(error)
        assert "no object under that key" in str(error)
        assert not (tmp_path / "out").exists()


# google-resumable-media and botocore can drop (without closing) the connection of a request
# the server refused before reading its body; the socket is closed when collected. Collected
# here, under this filter, so the warning cannot land in whichever test the collector runs in.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_wrong_credentials_are_not_retryable_and_not_shown(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    source = random_file(tmp_path / "in", 100)
    with backend.wrong_credentials() as (right, place):
        if right is not None:  # the server does check: the right credentials work
            assert opened(right).put("k.mp4", source, "video/mp4").size == 100
        dest = opened(place)
        error = refused(lambda: dest.put("k.mp4", source, "video/mp4"), place)
        assert error.retryable is False, error
        error = refused(lambda: dest.stat("k.mp4"), place)
        assert error.retryable is False, error
        dest.close()
    del error
    gc.collect()


def test_an_unreachable_server_is_retryable(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    place = backend.at(f"127.0.0.1:{free_port()}")  # nothing listens there
    dest = opened(place, attempt_timeout_s=5)
    source = random_file(tmp_path / "in", 10)
    for call in every_call(dest, source, tmp_path / "out"):
        assert refused(call, place).retryable is True
    assert not (tmp_path / "out").exists()


@pytest.fixture
def black_hole() -> Iterator[Gate]:
    gate = Gate(free_port())
    gate.black_hole()
    yield gate
    gate.close()


@pytest.mark.parametrize("backend", NETWORK, indirect=True)
def test_a_server_that_never_answers_is_tried_once_within_the_attempt(
    backend: Harness, opened: Callable[..., Destination], black_hole: Gate, tmp_path: Path
) -> None:
    # Accepts the connection, never answers: each SDK gives up after its read timeout, capped
    # at the attempt timeout, having tried once (botocore's, google-cloud-storage's and
    # azure-core's own retries could carry the attempt past its timeout; paramiko has none).
    place = backend.at(f"127.0.0.1:{black_hole.port}")
    dest = opened(place, attempt_timeout_s=1)
    source = random_file(tmp_path / "in", 1000)

    assert refused(lambda: dest.put("k.mp4", source, "video/mp4"), place).retryable is True
    assert black_hole.accepted == 1
    assert refused(lambda: dest.get("k.mp4", tmp_path / "out"), place).retryable is True
    assert black_hole.accepted == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("backend", WITH_BUCKETS, indirect=True)
def test_a_missing_bucket_is_not_retryable(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    place = backend.missing_bucket()
    dest = opened(place)
    source = random_file(tmp_path / "in", 10)
    for call in every_call(dest, source, tmp_path / "out"):
        error = refused(call, place)
        assert error.retryable is False, error
        assert place.root in str(error)


def test_close_is_idempotent(
    backend: Harness, opened: Callable[..., Destination], tmp_path: Path
) -> None:
    unused = opened(backend.place())
    unused.close()
    unused.close()
    used = opened(backend.place())
    used.put("k.mp4", random_file(tmp_path / "in", 10), "video/mp4")
    used.close()
    used.close()


@pytest.mark.parametrize(
    ("backend", "missing"),
    [(name, f) for name, fields in REQUIRED.items() for f in fields],
    indirect=["backend"],
)
def test_a_config_without_a_required_field_is_refused_before_any_request(
    backend: Harness, missing: str
) -> None:
    place = backend.at(f"127.0.0.1:{free_port()}")  # no request could succeed anyway
    for absent in (None, ""):
        config = {**place.config, missing: absent}
        if absent is None:
            del config[missing]
        with pytest.raises(StorageError) as caught:
            backend.open(Place(config, place.endpoints, place.root))
        assert caught.value.retryable is False
        assert str(caught.value).startswith(f"{config['type']} storage needs {missing}")
