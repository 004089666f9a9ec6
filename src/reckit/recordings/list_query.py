"""Parse the list endpoint's query parameters (wire-spec §3.1, §1.5; decisions.md).

Input is the decoded (key, value) pairs in order; output is a ``ListQuery`` or a ``BadRequest``
naming the parameter. Unknown parameters are ignored; for a repeated scalar the last one wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from reckit.errors import BadRequest
from reckit.ids import is_uuid, normalise_uuid
from reckit.query import SORT_ORDERS, enum, paging, search_text, window
from reckit.recordings.models import SORT_BY, STATUSES, ListQuery


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
