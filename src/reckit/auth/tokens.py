"""API tokens (decisions.md, Tokens): stored as SHA-256 hashes, scoped to one account."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from reckit.accounts import repository as accounts
from reckit.auth import repository
from reckit.clock import Clock
from reckit.db.engine import Row, Tx
from reckit.errors import BadRequest, MalformedAuth, NotFound, Unauthenticated
from reckit.ids import new_hex_id

PERMISSIONS = ("Realtime Admin", "Realtime")
# Cloudflare tokens are 40 URL-safe characters; accept anything token68-like (RFC 7235).
_TOKEN68 = re.compile(r"^[A-Za-z0-9\-._~+/]+=*\Z")


@dataclass(frozen=True)
class Principal:
    account_id: str
    permission: str


@dataclass(frozen=True)
class TokenInfo:
    id: str
    account_id: str
    permission: str
    name: str
    created_at: int
    revoked_at: int | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    tx: Tx, clock: Clock, account_id: str, permission: str = "Realtime Admin", name: str = ""
) -> tuple[str, str]:
    """A new token; returns (token, token_id). The token itself is shown once, never stored."""
    if permission not in PERMISSIONS:
        raise BadRequest.field("permission", f"must be one of [{', '.join(PERMISSIONS)}]")
    token = secrets.token_urlsafe(30)  # 40 characters, like Cloudflare's
    token_id = new_hex_id()
    if not accounts.exists(tx, account_id):
        raise NotFound(f"Account {account_id} not found")
    repository.insert(
        tx, token_id, account_id, _hash(token), permission, name or permission, clock.now_ms()
    )
    return token, token_id


def list_tokens(tx: Tx, account_id: str | None = None) -> list[TokenInfo]:
    return [TokenInfo(*r) for r in repository.list_all(tx, account_id)]


def revoke_token(tx: Tx, clock: Clock, token_id: str) -> bool:
    """True if the token was live and is now revoked; False if it was revoked already."""
    if not repository.exists(tx, token_id):
        raise NotFound(f"Token {token_id} not found")
    return repository.revoke(tx, token_id, clock.now_ms()) == 1


def parse_authorization(header: str | None) -> str:
    """The bearer token in an Authorization header (decisions.md, Errors)."""
    if header is None or header == "":
        raise Unauthenticated()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or _TOKEN68.match(token) is None:
        raise MalformedAuth()
    return token


def _principal(row: Row | None, digest: str) -> Principal:
    # The lookup is by hash, so timing reveals nothing of the token; compare anyway, in constant
    # time, so that a collation or index quirk can never let a near-match through.
    if row is None or not hmac.compare_digest(str(row[0]), digest):
        raise Unauthenticated()
    return Principal(account_id=str(row[1]), permission=str(row[2]))


def authenticate(tx: Tx, token: str) -> Principal:
    digest = _hash(token)
    return _principal(repository.active_by_hash(tx, digest), digest)


def authenticate_under_app(
    tx: Tx, token: str, app_id: str
) -> tuple[Principal, tuple[str, int] | None]:
    """``authenticate``, and the app's (account, data version) or None, read together."""
    digest = _hash(token)
    row = repository.active_by_hash_with_app(tx, digest, app_id)
    principal = _principal(row, digest)
    assert row is not None
    return principal, None if row[3] is None else (str(row[3]), int(row[4]))
