"""Parse the meetings list query (wire-spec §4.1), with the recordings list's rules for paging,
times and search (decisions.md, List recordings): unknown parameters are ignored, a repeated
one's last value wins; an empty page_no, per_page, status or search is absent."""

from __future__ import annotations

from collections.abc import Sequence

from reckit.meetings.models import STATUSES, MeetingQuery
from reckit.query import enum, paging, search_text, window


def parse_meeting_query(pairs: Sequence[tuple[str, str]], max_per_page: int) -> MeetingQuery:
    last = dict(pairs)
    page_no, per_page = paging(last, max_per_page)
    start_ms, end_ms = window(last)

    status = last.get("status", "") or None
    if status is not None:
        enum("status", status, STATUSES)

    search = search_text(last)

    return MeetingQuery(
        page_no=page_no,
        per_page=per_page,
        start_ms=start_ms,
        end_ms=end_ms,
        search=search,
        status=status,
    )
