"""Real storage servers for tests, each a subprocess listening on 127.0.0.1 on a free port:
moto in server mode (S3) and gcp-storage-emulator (GCS). A subprocess, not the in-process
servers, so their threads, globals (moto's auth switch is process-wide) and warnings stay out of
the test process (pytest turns warnings into errors).

Use ``moto_server()`` / ``gcs_emulator()`` as context managers (e.g. from a session fixture),
then ``make_s3(url)`` / ``make_gcs(url)`` for a destination on a fresh bucket of that server.
tests/support/storage_fixtures.py has each as a session fixture.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx

from reckit.storage.gcs import GcsDestination
from reckit.storage.s3 import S3Destination

# moto accepts any credentials unless auth is switched on; these are what make_s3 uses.
S3_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3_REGION = "us-east-1"
GCS_PROJECT = "reckit-test"
# Generous: moto imports a lot, and CI machines can be busy.
START_TIMEOUT = 90.0


def free_port() -> int:
    """A port nothing listens on right now (also how a test gets a 'server that is down')."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int, path: str) -> bool:
    # http.client, not httpx: httpx builds an SSL context (loading the CA bundle) per call,
    # which on a busy machine costs more than the server takes to start.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
    except OSError:
        return False
    finally:
        conn.close()
    return True


@contextlib.contextmanager
def _server(argv: list[str], probe: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``argv`` (``{port}`` filled in) until it answers GET ``probe`` on that port; yield
    its base URL; stop it. A port taken between choosing and binding means another try."""
    last_log = ""
    for _attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        # The log goes to a file, not a pipe: nobody reads a pipe while tests run, and a full
        # pipe would stall the server.
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(
                [a.format(port=port) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
            try:
                deadline = time.monotonic() + START_TIMEOUT
                while proc.poll() is None and time.monotonic() < deadline:
                    if _answers(port, probe):
                        break
                    time.sleep(0.1)
                else:
                    log.seek(0)
                    last_log = log.read()[-2000:].decode(errors="replace")
                    continue
                yield url
                return
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    raise RuntimeError(f"{argv[0:3]} did not start; its last output:\n{last_log}")


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 (and IAM) on a free port; it accepts any credentials until
    ``enable_moto_auth``."""
    with _server(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "{port}"],
        "/moto-api/",
    ) as url:
        yield url


@contextlib.contextmanager
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator, in memory, on a free port."""
    with _server(
        [
            sys.executable,
            "-m",
            "gcp_storage_emulator",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--in-memory",
            "--quiet",
        ],
        "/storage/v1/b",
    ) as url:
        yield url


@contextlib.contextmanager
def fixed_answer_server(status: int, body: bytes = b"") -> Iterator[str]:
    """A server on 127.0.0.1 that answers every request with ``status`` and ``body``: a store
    that refuses the credentials (403) or is overloaded (503), as neither emulator can be made
    to. In-process: a standard-library server with nothing to leak."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            # Read the whole request first: answering an upload before reading it makes the
            # client see a broken connection instead of the status.
            length = int(self.headers.get("Content-Length") or 0)
            while length > 0:
                length -= len(self.rfile.read(min(length, 1 << 16)))
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # Keep the test output clean.

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def new_bucket_name() -> str:
    return f"reckit-{secrets.token_hex(6)}"


def _s3_admin(server_url: str, access_key: str = S3_ACCESS_KEY, secret: str = S3_SECRET) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        region_name=S3_REGION,
    )


def create_s3_bucket(
    server_url: str,
    name: str | None = None,
    *,
    access_key: str = S3_ACCESS_KEY,
    secret: str = S3_SECRET,
) -> str:
    name = name or new_bucket_name()
    client = _s3_admin(server_url, access_key, secret)
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name


def s3_config(
    bucket: str,
    *,
    kind: str = "aws",
    path: str = "",
    access_key: str = S3_ACCESS_KEY,
    secret: str = S3_SECRET,
    region: str = S3_REGION,
) -> dict[str, Any]:
    return {
        "type": kind,
        "access_key": access_key,
        "secret": secret,
        "bucket": bucket,
        "region": region,
        "path": path,
    }


def make_s3(
    server_url: str,
    *,
    bucket: str | None = None,
    path: str = "",
    kind: str = "aws",
    **options: Any,
) -> S3Destination:
    """An S3Destination on the moto server at ``server_url``, on a new bucket unless ``bucket``
    is given. ``options`` go to the constructor (part_size, timeouts, max_attempts)."""
    bucket = bucket or create_s3_bucket(server_url)
    return S3Destination(s3_config(bucket, kind=kind, path=path), server_url, **options)


def enable_moto_auth(server_url: str) -> tuple[str, str]:
    """Create an IAM user allowed to use S3 on the moto server, then switch moto's
    authentication on: from then on only that user's keys work. Returns (access_key, secret).
    """
    iam = boto3.session.Session().client(
        "iam",
        endpoint_url=server_url,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )
    try:
        iam.create_user(UserName="recorder")
        iam.put_user_policy(
            UserName="recorder",
            PolicyName="s3",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="recorder")["AccessKey"]
    finally:
        iam.close()
    # moto counts requests and checks signatures once the count passes this number; 0 = now.
    httpx.post(f"{server_url}/moto-api/reset-auth", content=b"0", timeout=5.0).raise_for_status()
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


@dataclasses.dataclass(frozen=True)
class MotoWithAuth:
    """A moto server that checks credentials: only ``access_key`` and ``secret`` work."""

    url: str
    access_key: str
    secret: str

    def create_bucket(self) -> str:
        return create_s3_bucket(self.url, access_key=self.access_key, secret=self.secret)


@contextlib.contextmanager
def moto_server_with_auth() -> Iterator[MotoWithAuth]:
    """A moto server of its own (switching authentication on is server-wide), checking keys."""
    with moto_server() as url:
        yield MotoWithAuth(url, *enable_moto_auth(url))


@functools.cache
def _test_private_key() -> str:
    # A real RSA key, so the service-account JSON parses exactly as a downloaded one would.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def service_account_json(**overrides: Any) -> str:
    info: dict[str, Any] = {
        "type": "service_account",
        "project_id": GCS_PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": _test_private_key(),
        "client_email": f"recorder@{GCS_PROJECT}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    info.update(overrides)
    return json.dumps(info)


def create_gcs_bucket(server_url: str, name: str | None = None) -> str:
    name = name or new_bucket_name()
    response = httpx.post(
        f"{server_url}/storage/v1/b",
        params={"project": GCS_PROJECT},
        json={"name": name},
        timeout=10.0,
    )
    response.raise_for_status()
    return name


def gcs_config(bucket: str, *, path: str = "", secret: str | None = None) -> dict[str, Any]:
    return {
        "type": "gcs",
        "secret": service_account_json() if secret is None else secret,
        "bucket": bucket,
        "region": "US",
        "path": path,
    }


def make_gcs(
    server_url: str, *, bucket: str | None = None, path: str = "", **options: Any
) -> GcsDestination:
    """A GcsDestination on the emulator at ``server_url``, on a new bucket unless ``bucket``
    is given. ``options`` go to the constructor (part_size, timeouts, retry_deadline)."""
    bucket = bucket or create_gcs_bucket(server_url)
    return GcsDestination(gcs_config(bucket, path=path), server_url, **options)


def random_file(path: Path, size: int) -> Path:
    """``size`` random bytes at ``path``, written in blocks."""
    with path.open("wb") as f:
        left = size
        while left:
            block = min(left, 1 << 20)
            f.write(os.urandom(block))
            left -= block
    return path
