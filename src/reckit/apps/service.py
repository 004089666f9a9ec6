from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec

from reckit.accounts import repository as accounts
from reckit.apps import repository
from reckit.bodies import decode
from reckit.clock import Clock
from reckit.db.engine import Tx
from reckit.errors import BadRequest, NotFound
from reckit.ids import new_hex_id
from reckit.paging import Page
from reckit.query import MAX_PAGE_NO, SORT_ORDERS, enum, search_text, whole_number


@dataclass(frozen=True)
class App:
    id: str
    name: str
    created_at: int


def create_app(tx: Tx, clock: Clock, account_id: str, name: str) -> App:
    if not name.strip():
        raise BadRequest.field("name", "is required")
    app = App(new_hex_id(), name.strip(), clock.now_ms())
    if not accounts.exists(tx, account_id):
        raise NotFound(f"Account {account_id} not found")
    repository.insert(tx, app.id, account_id, app.name, app.created_at)
    return app


def require_app(tx: Tx, account_id: str, app_id: str) -> int:
    """The app's data version, if it exists and belongs to the account; otherwise 404 without
    saying which (wire-spec §7 item 36)."""
    found = repository.owner_and_version(tx, app_id)
    if found is None or found[0] != account_id:
        raise NotFound(f"App {app_id} not found")
    return found[1]


@dataclass(frozen=True)
class AppQuery:
    page_no: int = 1
    per_page: int = 20
    search: str | None = None
    descending: bool = True


def list_apps(tx: Tx, account_id: str, q: AppQuery) -> Page[App]:
    offset = (q.page_no - 1) * q.per_page
    total, rows = repository.list_page(tx, account_id, q.search, q.descending, q.per_page, offset)
    items = [App(str(r[0]), str(r[1]), int(r[2])) for r in rows]
    return Page.at(items, total, offset)


# --- the wire side's inputs (wire-spec §4.2) ---------------------------------------------------

MAX_NAME = 255  # the spec gives none
MAX_SEARCH = 125  # wire-spec §4.2


class CreateAppBody(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]


def parse_create_app(raw: bytes) -> CreateAppBody:
    body = decode(raw, CreateAppBody)
    if "\x00" in body.name:
        raise BadRequest.field("name", "must not contain NUL characters")
    return body


def _positive(name: str, value: str) -> int | None:
    number = whole_number(name, value)
    if number is not None and not 1 <= number <= MAX_PAGE_NO:
        raise BadRequest.field(name, f"must be between 1 and {MAX_PAGE_NO}")
    return number


def parse_app_query(pairs: Sequence[tuple[str, str]], max_per_page: int) -> AppQuery:
    """``page_no`` and ``per_page`` are integers >= 1 here (wire-spec §4.2); a larger
    ``per_page`` than the server's maximum is clamped, as on the recordings list."""
    last = dict(pairs)
    page_no = _positive("page_no", last.get("page_no", ""))
    per_page = _positive("per_page", last.get("per_page", ""))
    search = search_text(last, MAX_SEARCH)
    order = enum("sort_order", last.get("sort_order", "DESC"), SORT_ORDERS)
    return AppQuery(
        page_no=page_no or 1,
        per_page=min(per_page or 20, max_per_page),
        search=search,
        descending=order == "DESC",
    )
