"""Parse the list endpoint's query parameters (wire-spec §3.1, §1.5; decisions.md).

Input is the decoded (key, value) pairs in order; output is a ``ListQuery`` or a ``BadRequest``
naming the parameter. Unknown parameters are ignored; for a repeated scalar the last one wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from reckit.errors import BadRequest
from reckit.ids import is_uuid, normalise_uuid
from reckit.recordings.models import SORT_BY, SORT_ORDERS, STATUSES, ListQuery
from reckit.timestamps import parse_rfc3339

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


def parse_list_query(pairs: Sequence[tuple[str, str]], max_per_page: int) -> ListQuery:
    last: dict[str, str] = {}
    statuses: list[str] = []
    for key, value in pairs:
        if key in ("status", "status[]"):
            # Repeated keys (the SDKs), comma lists (the spec's explode: false) and brackets.
            for part in value.split(","):
                part = part.strip()
                if part:
                    enum("status", part, STATUSES)
                    if part not in statuses:
                        statuses.append(part)
        else:
            last[key] = value

    page_no, per_page = paging(last, max_per_page)

    # Only page_no, per_page (allowEmptyValue), status and search may be empty; an empty value
    # of any other parameter is as invalid as any other malformed one.
    if "sort_by" in last:
        enum("sort_by", last["sort_by"], SORT_BY)
    order = last.get("sort_order", "DESC")
    enum("sort_order", order, SORT_ORDERS)

    start_ms, end_ms = window(last)

    meeting_id = last.get("meeting_id")
    if meeting_id is not None:
        if not is_uuid(meeting_id):
            raise BadRequest.field("meeting_id", "must be a valid GUID")
        meeting_id = normalise_uuid(meeting_id)

    expired: bool | None = None
    if "expired" in last:
        flag = last["expired"].lower()
        if flag not in ("true", "false"):
            raise BadRequest.field("expired", "must be a boolean (true or false)")
        expired = flag == "true"

    return ListQuery(
        page_no=page_no,
        per_page=per_page,
        statuses=tuple(statuses) or None,
        start_ms=start_ms,
        end_ms=end_ms,
        meeting_id=meeting_id,
        expired=expired,
        search=search_text(last),
        descending=order == "DESC",
    )
