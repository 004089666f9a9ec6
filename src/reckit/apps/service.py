"""Creating, finding and listing apps: typed in, ``App`` out."""

from __future__ import annotations

from reckit.accounts import repository as accounts
from reckit.apps import repository
from reckit.apps.models import App, AppQuery
from reckit.clock import Clock
from reckit.db.engine import Tx
from reckit.errors import BadRequest, NotFound
from reckit.ids import new_hex_id
from reckit.paging import Page


def create_app(tx: Tx, clock: Clock, account_id: str, name: str) -> App:
    if not name.strip():
        raise BadRequest.field("name", "is required")
    app = App(new_hex_id(), name.strip(), clock.now_ms())
    if not accounts.exists(tx, account_id):
        raise NotFound(f"Account {account_id} not found")
    repository.insert(tx, app, account_id)
    return app


def require_app(tx: Tx, account_id: str, app_id: str, found: tuple[str, int] | None) -> int:
    """The app's data version, if it exists and belongs to the account; otherwise 404 without
    saying which (wire-spec §7 item 36). ``found``: the app's (account, data version) as read
    in this transaction (auth/tokens.py ``authenticate_under_app``), kept for the rest of it as
    ``repository.owner_and_version`` keeps what it reads."""
    repository.remember_owner_and_version(tx, app_id, found)
    if found is None or found[0] != account_id:
        raise NotFound(f"App {app_id} not found")
    return found[1]


def list_apps(tx: Tx, account_id: str, q: AppQuery) -> Page[App]:
    offset = (q.page_no - 1) * q.per_page
    total, items = repository.list_page(tx, account_id, q.search, q.descending, q.per_page, offset)
    return Page.at(items, total, offset)
