"""Test data written through reckit's own repositories (which keep the per-day counts in step)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from reckit.db.engine import Database
from reckit.ids import new_uuid
from reckit.meetings import repository as meetings
from reckit.meetings.models import NewMeeting
from reckit.recordings import repository as recordings
from reckit.recordings.models import STATUSES, NewRecording
from reckit.timestamps import DAY_MS

NOW = 1_790_000_000_000  # 2026-09-21T14:13:20Z: a fixed "now" for data made relative to it


@dataclass
class Made:
    meetings: list[NewMeeting] = field(default_factory=list)
    recordings: list[NewRecording] = field(default_factory=list)

    def meeting(self, meeting_id: str) -> NewMeeting:
        return next(m for m in self.meetings if m.id == meeting_id)


def add_meeting(db: Database, app_id: str, title: str | None, created: int = NOW) -> NewMeeting:
    m = NewMeeting(
        id=new_uuid(), app_id=app_id, created_at=created, updated_at=created, title=title
    )
    with db.transaction(write=True) as tx:
        meetings.insert(tx, m)
    return m


def add_recording(db: Database, app_id: str, meeting_id: str, **fields: Any) -> NewRecording:
    invoked = fields.pop("invoked_time", NOW)
    r = NewRecording(
        id=fields.pop("id", new_uuid()),
        app_id=app_id,
        meeting_id=meeting_id,
        status=fields.pop("status", "UPLOADED"),
        invoked_time=invoked,
        output_file_name=f"{meeting_id}_{invoked}.mp4",
        **fields,
    )
    with db.transaction(write=True) as tx:
        recordings.insert(tx, r)
    return r


TITLES = (
    "Weekly Sync",
    "Design review: Falcon",
    "100% pure_fun",
    "O'Brien's standup",
    "Retro — Orion",
    None,
)
SECRET_STORAGE = {
    "type": "aws",
    "bucket": "b",
    "region": "us-east-1",
    "path": "p",
    # Secrets that must never come back: stored here as if a bug had written them.
    "access_key": "AKIA-NEVER-SHOWN",
    "secret": "s3cr3t-NEVER-SHOWN",
}
SECRETS = ("AKIA-NEVER-SHOWN", "s3cr3t-NEVER-SHOWN")


def make_dataset(db: Database, app_id: str, n: int, seed: int = 7, now: int = NOW) -> Made:
    """n recordings over len(TITLES) meetings, every status, some timestamps shared (to test the
    id tie-break), some expired, some with storage configs, spread over ~40 days."""
    rng = random.Random(seed)
    made = Made()
    for title in TITLES:
        made.meetings.append(add_meeting(db, app_id, title, now - 90 * DAY_MS))
    rows: list[NewRecording] = []
    for i in range(n):
        meeting = made.meetings[i % len(made.meetings)]
        status = STATUSES[i % len(STATUSES)]
        invoked = now - rng.randrange(40 * DAY_MS)
        if i % 10 == 3 and rows:
            invoked = rows[-1].invoked_time  # a tie
        expiry = None
        if status == "UPLOADED" and i % 4 != 0:
            expiry = now + rng.choice((-1, 1)) * rng.randrange(1, 5 * DAY_MS)
        storage = orjson.dumps(SECRET_STORAGE).decode() if i % 5 == 0 else None
        rec = add_recording(
            db,
            app_id,
            meeting.id,
            status=status,
            invoked_time=invoked,
            download_url_expiry=expiry,
            download_url=None if expiry is None else f"http://127.0.0.1/dl/{i}.mp4",
            storage_config=storage,
            recording_duration=60 + i if status == "UPLOADED" else None,
        )
        rows.append(rec)
    made.recordings = rows
    return made
