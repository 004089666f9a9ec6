"""Parse the apps list query (wire-spec §4.2): ``page_no`` and ``per_page`` are integers >= 1
here; a larger ``per_page`` than the server's maximum is clamped, as on the recordings list."""

from __future__ import annotations

from collections.abc import Sequence

from reckit.apps.models import AppQuery
from reckit.errors import BadRequest
from reckit.query import MAX_PAGE_NO, SORT_ORDERS, enum, search_text, whole_number

MAX_SEARCH = 125  # wire-spec §4.2


def _positive(name: str, value: str) -> int | None:
    number = whole_number(name, value)
    if number is not None and not 1 <= number <= MAX_PAGE_NO:
        raise BadRequest.field(name, f"must be between 1 and {MAX_PAGE_NO}")
    return number


def parse_app_query(pairs: Sequence[tuple[str, str]], max_per_page: int) -> AppQuery:
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
