"""Parse the meetings list query (wire-spec §4.1), with the recordings list's rules for paging,
times and search (decisions.md, List recordings): unknown parameters are ignored, a repeated
one's last value wins; an empty page_no, per_page, status or search is absent."""

from __future__ import annotations

from collections.abc import Sequence

from reckit.errors import BadRequest
from reckit.meetings.models import STATUSES, MeetingQuery
from reckit.recordings.list_query import (
    MAX_PAGE_NO,
    MAX_PER_PAGE_VALUE,
    MAX_SEARCH,
    enum,
    time_bound,
)
from reckit.recordings.list_query import whole_number as whole


def parse_meeting_query(pairs: Sequence[tuple[str, str]], max_per_page: int) -> MeetingQuery:
    last = dict(pairs)
    page_no = whole("page_no", last.get("page_no", ""))
    if page_no is not None and page_no > MAX_PAGE_NO:
        raise BadRequest.field("page_no", f"must be less than or equal to {MAX_PAGE_NO}")
    per_page = whole("per_page", last.get("per_page", ""))
    if per_page is not None and per_page > MAX_PER_PAGE_VALUE:
        raise BadRequest.field("per_page", "must be less than or equal to 1e99")

    start_ms = time_bound("start_time", last.get("start_time"))
    end_ms = time_bound("end_time", last.get("end_time"))
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise BadRequest.field("start_time", "must not be later than end_time")

    status = last.get("status", "") or None
    if status is not None:
        enum("status", status, STATUSES)

    search = last.get("search", "") or None
    if search is not None:
        if len(search) > MAX_SEARCH:
            raise BadRequest.field("search", f"must be at most {MAX_SEARCH} characters")
        if "\x00" in search:
            raise BadRequest.field("search", "must not contain NUL characters")

    return MeetingQuery(
        page_no=max(page_no or 1, 1),  # decisions.md: 0 means 1
        per_page=min(20 if per_page is None else per_page, max_per_page),
        start_ms=start_ms,
        end_ms=end_ms,
        search=search,
        status=status,
    )
