"""Real storage servers for the Azure Blob and SFTP destinations, started on 127.0.0.1 on a free
port for the length of a ``with`` block: Microsoft's Azurite (blob service only) and OpenSSH's
sshd. Also ``make_azure``/``make_sftp``, which point a destination at one, for any test module.

Without Azurite (``tests/emulators``: ``npm ci``) or sshd, the tests that need them are skipped
with the reason; with CI=true they fail instead, so CI can never go green by skipping.

sshd and users: password authentication needs a real account whose password sshd can check,
which only an sshd running as root can do. When the tests run as root (here and in CI) they use
a dedicated account, ``reckit-sftp``, with no shell; it is created with ``useradd`` when absent
and its password is (re)set to ``SFTP_TEST_PASSWORD``. Our sshd only lets that account in
(``AllowUsers``) and only for SFTP (``ForceCommand internal-sftp``). Run as any other user, sshd
can only let that same user in, by key: PASSWORD tests are then skipped.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, NoReturn

import httpx
import pytest
from azure.storage.blob import BlobServiceClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from reckit.storage.azure import AzureDestination
from reckit.storage.sftp import SftpDestination

HOST = "127.0.0.1"
AZURITE_BIN = Path(__file__).parent.parent / "emulators" / "node_modules" / ".bin" / "azurite-blob"
SSHD_BIN = Path(os.environ.get("RECKIT_TEST_SSHD", "/usr/sbin/sshd"))
SFTP_TEST_USER = "reckit-sftp"
# Fixed, so that test runs going on at the same time agree on it; the account has no shell and
# our sshd serves it SFTP only (see the module docstring).
SFTP_TEST_PASSWORD = "reckit-sftp-test-password"
# As for moto (storage_servers.py): Node.js starting Azurite on a loaded 2-core machine has taken
# more than 30 s.
START_TIMEOUT = 90.0


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail on CI where every server must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def closed_port() -> int:
    """A port nothing listens on (nothing should bind it in the instant after)."""
    return free_port()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_until(ready: Any, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {_tail(log)}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {START_TIMEOUT} s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


# -- Azurite ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AzuriteServer:
    port: int
    account: str
    key: str

    @property
    def endpoint(self) -> str:
        """The blob service URL (path-style, as emulators use)."""
        return f"http://{HOST}:{self.port}/{self.account}"

    def connection_string(self, *, key: str | None = None, with_endpoint: bool = True) -> str:
        parts = [
            "DefaultEndpointsProtocol=http",
            f"AccountName={self.account}",
            f"AccountKey={key or self.key}",
        ]
        if with_endpoint:
            parts.append(f"BlobEndpoint={self.endpoint}")
        return ";".join(parts) + ";"

    def service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string())

    def create_container(self) -> str:
        name = f"rec-{secrets.token_hex(6)}"
        with self.service() as svc:
            svc.create_container(name)
        return name


def random_account_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


@contextlib.contextmanager
def azurite_server() -> Iterator[AzuriteServer]:
    if not AZURITE_BIN.exists():
        unavailable(f"Azurite is not installed ({AZURITE_BIN}; run npm ci in tests/emulators)")
    if shutil.which("node") is None:
        unavailable("Azurite needs node, which is not on PATH")
    # A random account key for this server: no well-known key in the tests.
    server = AzuriteServer(port=free_port(), account="reckittest", key=random_account_key())
    with tempfile.TemporaryDirectory(prefix="reckit-azurite-") as tmp:
        log = Path(tmp) / "azurite.log"
        data = Path(tmp) / "data"
        data.mkdir()
        env = {**os.environ, "AZURITE_ACCOUNTS": f"{server.account}:{server.key}"}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    str(AZURITE_BIN),
                    "--blobHost",
                    HOST,
                    "--blobPort",
                    str(server.port),
                    "--location",
                    str(data),
                    "--silent",
                    "--skipApiVersionCheck",
                    "--loose",
                    # Tests must not phone home; also, with telemetry on, Azurite's shutdown
                    # waits for it to flush and outlives SIGTERM by seconds.
                    "--disableTelemetry",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            _wait_until(lambda: _http_answers(server.endpoint), proc, log, "Azurite")
            yield server
        finally:
            _stop(proc)


def _http_answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2.0)
    except httpx.HTTPError:
        return False
    return True  # Any status: an unauthenticated request is refused, but it was answered.


def make_azure(
    server: AzuriteServer,
    *,
    container: str | None = None,
    path: str = "",
    key: str | None = None,
    timeout: float = 10.0,
    retries: int = 0,
    **options: Any,
) -> AzureDestination:
    """A destination on ``server`` (a fresh container unless one is named)."""
    config = azure_config(server, container=container, path=path, key=key)
    return AzureDestination(config, None, timeout=timeout, retries=retries, **options)


def azure_config(
    server: AzuriteServer, *, container: str | None = None, path: str = "", key: str | None = None
) -> dict[str, Any]:
    """A storage config for ``server`` (a fresh container unless one is named; its account
    key unless ``key``)."""
    return {
        "type": "azure",
        "access_key": server.connection_string(key=key),
        "secret": "",
        "region": "",
        "bucket": container or server.create_container(),
        "path": path,
    }


# -- sshd ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_line: str
    passphrase: str | None = None


def generate_key(
    kind: Literal["ed25519", "rsa", "ecdsa"] = "ed25519", passphrase: str | None = None
) -> KeyPair:
    """A client key as a customer would paste it: Ed25519 in OpenSSH form, RSA and ECDSA in
    the traditional PEM form."""
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.OpenSSH
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    private = key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return KeyPair(private, public.decode(), passphrase)


@dataclass(frozen=True)
class SshdServer:
    port: int
    username: str
    password: str | None  # None: sshd cannot check passwords (not running as root)
    root: Path  # a directory of this run that ``username`` may write to
    keys: Mapping[str, KeyPair]  # authorized: "ed25519", "ed25519-passphrase", "rsa", "ecdsa"
    host_key_fingerprint: str = ""  # as OpenSSH shows it: SHA256:<base64, unpadded>

    @property
    def host(self) -> str:
        return HOST


def _ensure_test_user() -> pwd.struct_passwd:
    try:
        pwd.getpwnam(SFTP_TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/usr/sbin/nologin", SFTP_TEST_USER],
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["chpasswd"],
        input=f"{SFTP_TEST_USER}:{SFTP_TEST_PASSWORD}\n".encode(),
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(SFTP_TEST_USER)


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text)
    path.chmod(mode)


@contextlib.contextmanager
def sshd_server() -> Iterator[SshdServer]:
    if not SSHD_BIN.exists():
        unavailable(f"OpenSSH's sshd is not installed ({SSHD_BIN})")
    as_root = os.geteuid() == 0
    if as_root:
        user = _ensure_test_user()
        password: str | None = SFTP_TEST_PASSWORD
        # sshd running as root refuses to start without its privilege separation directory,
        # which a container without a system sshd service may never have made.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    else:
        user = pwd.getpwuid(os.geteuid())
        password = None

    keys = {
        "ed25519": generate_key("ed25519"),
        "ed25519-passphrase": generate_key("ed25519", passphrase=secrets.token_hex(8)),
        "rsa": generate_key("rsa"),
        "ecdsa": generate_key("ecdsa"),
    }
    with contextlib.ExitStack() as stack:
        conf_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reckit-sshd-")))
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reckit-sftp-")))
        # sshd reads authorized keys as the logging-in user: they must reach the file.
        conf_dir.chmod(0o755)
        os.chown(root, user.pw_uid, user.pw_gid)
        host = ed25519.Ed25519PrivateKey.generate()
        host_key = host.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        blob = base64.b64decode(
            host.public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            .split()[1]
        )
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        _write(conf_dir / "host_ed25519", host_key.decode(), 0o600)
        _write(
            conf_dir / "authorized_keys",
            "".join(k.public_line + "\n" for k in keys.values()),
            0o644,
        )
        port = free_port()
        config = f"""\
Port {port}
ListenAddress {HOST}
HostKey {conf_dir}/host_ed25519
PidFile {conf_dir}/sshd.pid
AuthorizedKeysFile {conf_dir}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication {"yes" if as_root else "no"}
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
AllowUsers {user.pw_name}
Subsystem sftp internal-sftp
ForceCommand internal-sftp
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
"""
        _write(conf_dir / "sshd_config", config, 0o644)
        log = conf_dir / "sshd.log"
        out: IO[bytes] = stack.enter_context(log.open("wb"))
        proc = subprocess.Popen(
            [str(SSHD_BIN), "-D", "-e", "-f", str(conf_dir / "sshd_config")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, proc)
        _wait_until(lambda: _ssh_banner(port), proc, log, "sshd")
        yield SshdServer(port, user.pw_name, password, root, keys, f"SHA256:{digest}")


def _ssh_banner(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def make_sftp(
    server: SshdServer,
    auth: Literal["KEY", "PASSWORD"] = "KEY",
    *,
    path: str | None = None,
    key: str = "ed25519",
    timeout: float = 10.0,
    **overrides: Any,
) -> SftpDestination:
    """A destination on ``server``; ``path`` defaults to a fresh directory under its root.
    ``key`` names one of ``server.keys``; ``overrides`` replace config fields."""
    config = sftp_config(server, auth, path=path, key=key, **overrides)
    return SftpDestination(config, None, timeout=timeout)


def sftp_config(
    server: SshdServer,
    auth: Literal["KEY", "PASSWORD"] = "KEY",
    *,
    path: str | None = None,
    key: str = "ed25519",
    **overrides: Any,
) -> dict[str, Any]:
    """A storage config for ``server`` (see ``make_sftp``); skips PASSWORD where sshd cannot
    check passwords."""
    config: dict[str, Any] = {
        "type": "sftp",
        "access_key": "unused",
        "region": "unused",
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "auth_method": auth,
        "path": path if path is not None else str(server.root / secrets.token_hex(4)),
    }
    if auth == "PASSWORD":
        if server.password is None:
            unavailable("sshd password authentication needs the tests to run as root")
        config["password"] = server.password
    else:
        pair = server.keys[key]
        config["private_key"] = pair.private_pem
        if pair.passphrase:
            config["password"] = pair.passphrase
    config.update(overrides)
    return config
