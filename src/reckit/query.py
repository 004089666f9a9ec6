"""Query parameters every list endpoint shares (recordings, meetings, apps): whole numbers,
enums, paging with decisions.md's defaults and clamping, the time window and the search text.
Each refusal is a ``BadRequest`` naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from reckit.errors import BadRequest
from reckit.timestamps import parse_rfc3339

SORT_ORDERS = ("ASC", "DESC")
# "number" in the spec, sent as 20.0 by the Python SDK (wire-spec §1.5): digits, optionally a
# fractional part of zeros only.
_WHOLE = re.compile(r"^([0-9]{1,100})(?:\.([0-9]{0,100}))?\Z")
# Past this a page number is a mistake, not a page: offsets must stay inside 64-bit integers.
MAX_PAGE_NO = 1_000_000_000
MAX_SEARCH = 256
MAX_PER_PAGE_VALUE = 10**99


def whole_number(name: str, value: str) -> int | None:
    """None for an empty value (allowEmptyValue), else a whole number >= 0 or BadRequest."""
    if value == "":
        return None
    m = _WHOLE.match(value)
    if m is None or (m.group(2) and m.group(2).strip("0")):
        raise BadRequest.field(name, "must be a whole number greater than or equal to 0")
    return int(m.group(1))


def enum(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise BadRequest.field(name, f"must be one of [{', '.join(allowed)}]")
    return value


def time_bound(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    ms = parse_rfc3339(value)
    if ms is None:
        raise BadRequest.field(name, "must be a valid ISO 8601 date-time")
    return ms


# Shared by every list query (recordings, meetings): paging, the time window, the search.


def paging(last: Mapping[str, str], max_per_page: int) -> tuple[int, int]:
    """(page_no, per_page) with decisions.md's defaults and clamping."""
    page_no = whole_number("page_no", last.get("page_no", ""))
    if page_no is not None and page_no > MAX_PAGE_NO:
        raise BadRequest.field("page_no", f"must be less than or equal to {MAX_PAGE_NO}")
    per_page = whole_number("per_page", last.get("per_page", ""))
    if per_page is not None and per_page > MAX_PER_PAGE_VALUE:
        # Anything up to here is clamped (decisions.md); past it, the number is not one.
        raise BadRequest.field("per_page", "must be less than or equal to 1e99")
    # decisions.md: 0 means 1; per_page defaults to 20 and is clamped to the maximum.
    return max(page_no or 1, 1), min(20 if per_page is None else per_page, max_per_page)


def window(last: Mapping[str, str]) -> tuple[int | None, int | None]:
    """``start_time`` and ``end_time`` as epoch ms, both ends inclusive."""
    start_ms = time_bound("start_time", last.get("start_time"))
    end_ms = time_bound("end_time", last.get("end_time"))
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise BadRequest.field("start_time", "must not be later than end_time")
    return start_ms, end_ms


def search_text(last: Mapping[str, str], limit: int = MAX_SEARCH) -> str | None:
    """``search``, at most ``limit`` characters; empty = no filter."""
    search = last.get("search", "") or None
    if search is not None:
        if len(search) > limit:
            raise BadRequest.field("search", f"must be at most {limit} characters")
        if "\x00" in search:
            raise BadRequest.field("search", "must not contain NUL characters")
    return search
