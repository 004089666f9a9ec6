"""reckit's one server secret, and what it protects: storage credentials at rest (sealed with
Fernet: AES-128-CBC with an HMAC-SHA256 tag) and download links (HMAC-SHA256 signatures).

The master key is ``RECKIT_SECRET_KEY`` (32 random bytes, URL-safe base64: every node of a
deployment must share it), else ``secret.key`` in the data directory, generated on first start
with mode 0600. Two keys are derived from it with HKDF, one per use, so that a signature can
never be replayed as a ciphertext or the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "secret.key"


class SecretsUnreadable(Exception):
    """Sealed data that this key cannot open (the key changed, or the data was altered)."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError(
            "RECKIT_SECRET_KEY must be 32 bytes in URL-safe base64 "
            "(`python -c 'import secrets,base64; print(base64.urlsafe_b64encode("
            "secrets.token_bytes(32)).decode())'`)"
        )
    return key


def load_master_key(data_dir: Path, explicit: str = "") -> bytes:
    if explicit:
        return _decode_key(explicit)
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(generate_key() + "\n")
    return _decode_key(path.read_text())


class SecretBox:
    def __init__(self, master: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"reckit secrets v1")))
        # Keyed once: each signature copies this state (cheaper than keying an HMAC per link,
        # which matters when `reckit seed` signs millions of them).
        self._mac = hmac.new(_derive(master, b"reckit download links v1"), digestmod=hashlib.sha256)

    def seal(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(orjson.dumps(data)).decode()

    def open(self, token: str) -> dict[str, Any]:
        try:
            out: dict[str, Any] = orjson.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, orjson.JSONDecodeError):
            raise SecretsUnreadable(
                "stored credentials cannot be decrypted with this server's key"
                " (was RECKIT_SECRET_KEY or secret.key changed?)"
            ) from None
        return out

    def sign(self, message: str) -> str:
        mac = self._mac.copy()
        mac.update(message.encode())
        digest = mac.digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, message: str, signature: str) -> bool:
        # Compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError).
        return hmac.compare_digest(self.sign(message).encode(), signature.encode())
