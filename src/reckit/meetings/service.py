"""Meeting operations, named after the API's (wire-spec §4.1).

Every write bumps ``updated_at`` and the app's data version (the recordings list embeds
meetings, and its cached pages are keyed on that version), in the caller's transaction."""

from __future__ import annotations

from typing import Any

from reckit.bodies import require_uuid
from reckit.clock import Clock
from reckit.crypto import SecretBox
from reckit.db.engine import Tx
from reckit.errors import NotFound
from reckit.ids import is_uuid, new_uuid
from reckit.meetings import repository
from reckit.meetings.bodies import MeetingBody, UpdateBody, changed_columns, full_columns
from reckit.meetings.models import Meeting, MeetingQuery, NewMeeting
from reckit.paging import Page

# Meeting is part of this module's interface: the recording lifecycle takes it from here.
__all__ = [
    "Meeting",
    "Page",
    "create_meeting",
    "get_meeting",
    "list_meetings",
    "lock_meeting",
    "replace_meeting",
    "require_meeting",
    "update_meeting",
]


def get_meeting(tx: Tx, app_id: str, meeting_id: str) -> Meeting | None:
    if not is_uuid(meeting_id):
        return None
    return repository.get(tx, app_id, meeting_id.lower())


def lock_meeting(tx: Tx, app_id: str, meeting_id: str) -> Meeting | None:
    """As ``get_meeting``, and on PostgreSQL the row stays locked until the transaction ends:
    concurrent starts of one meeting's recording take turns. (On SQLite the write transaction
    already holds the database's one write lock.)"""
    if not is_uuid(meeting_id):
        return None
    return repository.get(tx, app_id, meeting_id.lower(), lock=True)


def require_meeting(tx: Tx, app_id: str, meeting_id: str) -> Meeting:
    """The meeting named in a path: 400 for a malformed ID, 404 for one not in this app."""
    meeting_id = require_uuid("meeting_id", meeting_id)
    found = repository.get(tx, app_id, meeting_id)
    if found is None:
        raise NotFound(f"Meeting {meeting_id} not found")
    return found


def create_meeting(tx: Tx, clock: Clock, box: SecretBox, app_id: str, body: MeetingBody) -> Meeting:
    now = clock.now_ms()
    new = NewMeeting(
        id=new_uuid(), app_id=app_id, created_at=now, updated_at=now, **full_columns(body, box)
    )
    repository.insert(tx, new)
    return _reread(tx, app_id, new.id)


def update_meeting(
    tx: Tx, clock: Clock, box: SecretBox, app_id: str, meeting_id: str, body: UpdateBody
) -> Meeting:
    return _write(tx, clock, app_id, meeting_id, changed_columns(body, box))


def replace_meeting(
    tx: Tx, clock: Clock, box: SecretBox, app_id: str, meeting_id: str, body: MeetingBody
) -> Meeting:
    # The replace body has no status: a replace leaves it as it is.
    return _write(tx, clock, app_id, meeting_id, full_columns(body, box))


def list_meetings(tx: Tx, app_id: str, q: MeetingQuery) -> Page[Meeting]:
    total, items = repository.list_page(tx, app_id, q)
    return Page.at(items, total, q.offset)


def _write(tx: Tx, clock: Clock, app_id: str, meeting_id: str, columns: dict[str, Any]) -> Meeting:
    meeting = require_meeting(tx, app_id, meeting_id)
    # Never before its creation, should the clock have stepped back.
    now = max(clock.now_ms(), meeting.created_at)
    repository.update(tx, app_id, meeting.id, columns, now)
    return _reread(tx, app_id, meeting.id)


def _reread(tx: Tx, app_id: str, meeting_id: str) -> Meeting:
    found = repository.get(tx, app_id, meeting_id)
    if found is None:  # written in this very transaction
        raise RuntimeError(f"meeting {meeting_id} vanished")
    return found
