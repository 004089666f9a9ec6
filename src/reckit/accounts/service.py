from __future__ import annotations

from reckit.accounts import repository
from reckit.clock import Clock
from reckit.db.engine import Tx
from reckit.errors import BadRequest
from reckit.ids import new_hex_id


def create_account(tx: Tx, clock: Clock, name: str) -> str:
    if not name.strip():
        raise BadRequest.field("name", "is required")
    account_id = new_hex_id()
    repository.insert(tx, account_id, name.strip(), clock.now_ms())
    return account_id
