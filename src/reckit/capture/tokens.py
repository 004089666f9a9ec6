"""Recorder tokens: what a recorder or media plane presents to the recorder API. Kept apart from
the public API's tokens, so that neither can be used for the other."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from reckit.capture import repository
from reckit.clock import Clock
from reckit.db.engine import Tx
from reckit.errors import Unauthenticated
from reckit.ids import new_hex_id

PREFIX = "rkr_"  # tells a person which kind of token they hold


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_recorder_token(tx: Tx, clock: Clock, name: str) -> tuple[str, str]:
    """(token, token_id); the token is shown once, only its hash is kept."""
    token = PREFIX + secrets.token_urlsafe(30)
    token_id = new_hex_id()
    repository.insert(tx, token_id, _hash(token), name, clock.now_ms())
    return token, token_id


def revoke_recorder_tokens_named(tx: Tx, clock: Clock, name: str) -> None:
    repository.revoke_named(tx, name, clock.now_ms())


def authenticate_recorder(tx: Tx, token: str) -> str:
    """The name of the recorder holding ``token``."""
    digest = _hash(token)
    row = repository.find(tx, digest)
    if row is None or not hmac.compare_digest(str(row[2]), digest):
        raise Unauthenticated()
    return str(row[1])
