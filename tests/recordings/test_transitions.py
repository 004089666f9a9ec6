"""The recording's state machine (recordings/lifecycle.py) walked whole: every (status, event)
pair the table allows does what it says, every other is refused; without a server. Then every
allowed change through the one writer (live_repository.transition) on both engines, the counts
exact after each; and no other module writes a status or a count."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import reckit
from reckit.db.engine import Database, Tx
from reckit.errors import BadRequest
from reckit.recordings import lifecycle
from reckit.recordings import live_repository as live
from reckit.recordings.lifecycle import LIFECYCLE_ORDER, TRANSITIONS, Change, Event, Refused
from reckit.recordings.models import Status, StoredRecording
from reckit.timestamps import DAY_MS
from tests.support.builders import NOW, add_meeting, add_recording
from tests.support.live import new_tenant

STARTED = NOW - 600_000
PAUSED_AT = NOW - 60_000
FILES = {
    "m_1.mp4": {"key": "k/m_1.mp4", "size": 1234, "sha256": "x", "role": "composite"},
    "m_1.m4a": {"key": "k/m_1.m4a", "size": 99, "sha256": "y", "role": "audio"},
}
LINKS = {
    "download_url": "http://127.0.0.1/dl/a",
    "audio_download_url": "http://127.0.0.1/dl/b",
    "download_url_expiry": NOW + 7 * DAY_MS,
}

# Each event, sent the way its sender sends it.
SEND: dict[Event, Callable[[StoredRecording], Change | None]] = {
    Event.BEGAN: lambda r: lifecycle.began(r, NOW, "session-1"),
    Event.PAUSE: lambda r: lifecycle.act(r, "pause", NOW),
    Event.RESUME: lambda r: lifecycle.act(r, "resume", NOW),
    Event.STOP: lambda r: lifecycle.act(r, "stop", NOW),
    Event.MAX_SECONDS: lifecycle.max_seconds_reached,
    Event.EMPTY_ROOM: lambda r: lifecycle.room_empty(r, NOW),
    Event.FILES_IN: lambda r: lifecycle.files_in(r, FILES, 59.9),
    Event.DELIVERED: lambda r: lifecycle.delivered(r, NOW, LINKS),
    Event.GIVEN_UP: lambda r: lifecycle.given_up(r, "delivery to sftp failed", LINKS),
    Event.FAILED: lambda r: lifecycle.failed(r, NOW, "the recorder failed"),
    Event.UNCLAIMED: lambda r: lifecycle.unclaimed(r, NOW, "no recorder claimed it"),
}


def stored(status: str, **fields: Any) -> StoredRecording:
    """A recording in ``status`` with the fields it would have by then."""
    began = status not in ("INVOKED",)
    values: dict[str, Any] = dict.fromkeys(StoredRecording.__dataclass_fields__)
    values.update(
        id="r1",
        app_id="a1",
        meeting_id="m1",
        kind="composite",
        status=status,
        invoked_time=NOW - 700_000,
        output_file_name="m1_1.mp4",
        allow_multiple=False,
        paused_ms=5_000,
        paused_at=PAUSED_AT if status == "PAUSED" else None,
        started_time=STARTED if began else None,
        max_seconds=3_600,
    )
    values.update(fields)
    return StoredRecording(**values)


def test_every_event_has_its_function_and_the_table_names_only_real_pairs() -> None:
    assert set(SEND) == set(Event)
    assert {s for s, _ in TRANSITIONS} <= set(Status)
    assert set(LIFECYCLE_ORDER) == set(Status)
    # Nothing leaves a final status.
    for (status, _), to in TRANSITIONS.items():
        if status in (Status.UPLOADED, Status.ERRORED):
            assert to is None


@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("status", LIFECYCLE_ORDER)
def test_the_table_is_obeyed(status: Status, event: Event) -> None:
    rec = stored(status)
    if (status, event) not in TRANSITIONS:
        with pytest.raises(Refused, match=f"a recording that is {status}$") as refused:
            SEND[event](rec)
        assert isinstance(refused.value, BadRequest)  # a 400 where a client sent it
        assert not lifecycle.allowed(status, event)
        return
    assert lifecycle.allowed(status, event)
    change = SEND[event](rec)
    to = TRANSITIONS[(status, event)]
    if to is None:
        assert change is None  # a replay: nothing changes
        return
    assert change is not None
    assert (change.event, change.source, change.status) == (event, status, to)
    assert set(change.fields) <= live._SETTABLE


def test_the_docstring_shows_the_table() -> None:
    doc = lifecycle.__doc__ or ""
    table = "\n".join("    " + line for line in lifecycle.describe().splitlines())
    assert table in doc
    assert len(lifecycle.describe().splitlines()) == len(TRANSITIONS)
    for event in Event:  # and the diagram names every event
        assert event.value in doc.split("Every change")[0], event


def test_the_api_actions_keep_their_messages() -> None:
    with pytest.raises(BadRequest, match=r"^cannot pause a recording that is INVOKED$"):
        lifecycle.act(stored("INVOKED"), "pause", NOW)
    with pytest.raises(BadRequest, match=r"^cannot complete a recording that is RECORDING$"):
        lifecycle.files_in(stored("RECORDING"), FILES, 1.0)
    with pytest.raises(BadRequest, match="unknown action"):
        lifecycle.act(stored("RECORDING"), "began", NOW)


def test_pauses_end_at_the_stop() -> None:
    pause = lifecycle.act(stored("RECORDING"), "pause", NOW)
    assert pause is not None and pause.fields == {"paused_at": NOW}
    resume = lifecycle.act(stored("PAUSED"), "resume", NOW)
    assert resume is not None and resume.fields == {"paused_ms": 65_000, "paused_at": None}
    stop = lifecycle.act(stored("PAUSED"), "stop", NOW)
    assert stop is not None and stop.status == Status.UPLOADING
    assert stop.fields == {
        "paused_ms": 65_000,
        "paused_at": None,
        "stopped_time": NOW,
        "stop_reason": '{"reason":"API_CALL","caller":{"type":"ORGANIZATION"}}',
    }
    # max_seconds stops at started + max_seconds (wall-clock), and the pause ends then.
    limit = stored("PAUSED", max_seconds=120, paused_at=STARTED + 100_000)
    timed = lifecycle.max_seconds_reached(limit)
    assert timed is not None
    assert timed.fields["stopped_time"] == STARTED + 120_000
    assert timed.fields["paused_ms"] == 5_000 + 20_000 and timed.fields["stop_reason"] == "{}"
    empty = lifecycle.room_empty(stored("RECORDING"), NOW)
    assert empty is not None and empty.fields["stop_reason"] == '{"reason":"ALL_PEERS_LEFT"}'
    early = lifecycle.act(stored("INVOKED"), "stop", NOW)
    assert early is not None and early.status == Status.ERRORED
    assert early.fields["error_reason"] == "stopped before capture began"
    assert "stopped_time" not in early.fields


def test_the_fields_that_become_known() -> None:
    files = lifecycle.files_in(stored("UPLOADING"), FILES, 59.9)
    assert files is not None and files.status == Status.UPLOADING
    assert (files.fields["file_size"], files.fields["recording_duration"]) == (1234, 59)
    audio_only = lifecycle.files_in(stored("UPLOADING"), {"a.m4a": FILES["m_1.m4a"]}, 3.0)
    assert audio_only is not None and audio_only.fields["file_size"] == 99
    kept = lifecycle.delivered(stored("UPLOADING"), NOW, None)  # no bucket: its copy is deleted
    assert kept is not None and kept.fields == {"purged_at": NOW}
    with pytest.raises(ValueError, match="not link fields"):
        lifecycle.delivered(stored("UPLOADING"), NOW, {"status": "UPLOADED"})
    # A failure keeps the stop time it had, else takes now once capture began.
    for rec, when in (
        (stored("INVOKED"), None),
        (stored("RECORDING"), NOW),
        (stored("UPLOADING", stopped_time=NOW - 5), NOW - 5),
    ):
        failed = lifecycle.failed(rec, NOW, "x" * 2000)
        assert failed is not None and failed.fields["stopped_time"] == when
        assert len(failed.fields["error_reason"]) == 1000
        assert failed.fields["stop_reason"] == '{"reason":"INTERNAL_ERROR"}'


# --- through the one writer, on both engines ---------------------------------------------


def _counts_match(tx: Tx, app_id: str) -> None:
    rows = tx.all(
        "SELECT status, count(*) FROM recordings WHERE app_id = ? GROUP BY status", (app_id,)
    )
    by_status = {str(s): int(n) for s, n in rows}
    rows = tx.all(
        "SELECT status, CAST(sum(n) AS BIGINT) FROM recording_day_counts"
        " WHERE app_id = ? GROUP BY status",
        (app_id,),
    )
    assert {str(s): int(n) for s, n in rows if n} == by_status
    expiring = tx.one(
        "SELECT count(*) FROM recordings WHERE app_id = ? AND download_url_expiry IS NOT NULL",
        (app_id,),
    )
    by_day = tx.one(
        "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM recording_expiry_counts WHERE app_id = ?",
        (app_id,),
    )
    assert expiring is not None and by_day is not None and int(expiring[0]) == int(by_day[0])


def test_every_allowed_change_through_the_writer(database: Database) -> None:
    tenant = new_tenant(database)
    meeting = add_meeting(database, tenant.app_id, "walk")
    moves = [(s, e, to) for (s, e), to in TRANSITIONS.items() if to is not None]
    for status, event, to in moves:
        made = add_recording(
            database,
            tenant.app_id,
            meeting.id,
            status=status.value,
            started_time=None if status == Status.INVOKED else STARTED,
            max_seconds=3_600,
        )
        with database.transaction(write=True) as tx:
            rec = live.get_by_id(tx, made.id, lock=True)
            assert rec is not None
            change = SEND[event](rec)
            assert change is not None
            assert live.transition(tx, rec, change), (status, event)
            # The same change again: the recording is no longer in the status it was read in.
            assert not live.transition(tx, rec, change) or change.status == status
            after = live.get_by_id(tx, made.id)
            assert after is not None and after.status == to
            for name, value in change.fields.items():
                assert getattr(after, name) == value, (status, event, name)
            _counts_match(tx, tenant.app_id)


def test_the_writer_sets_only_what_a_transition_may(database: Database) -> None:
    tenant = new_tenant(database)
    meeting = add_meeting(database, tenant.app_id, "guard")
    made = add_recording(database, tenant.app_id, meeting.id, status="RECORDING")
    with database.transaction(write=True) as tx:
        rec = live.get_by_id(tx, made.id)
        assert rec is not None
        forged = Change(Event.PAUSE, Status.RECORDING, Status.PAUSED, {"invoked_time": 1})
        with pytest.raises(ValueError, match="cannot set"):
            live.transition(tx, rec, forged)


# --- one writer of a status, one of the counts -------------------------------------------

SRC = Path(reckit.__file__).parent
_STRING = re.compile(r'f?"((?:[^"\\]|\\.)*)"')


def _sql(path: Path) -> list[str]:
    """The module's string literals, adjacent ones joined (one SQL statement each, roughly)."""
    text = path.read_text()
    joined = re.sub(r'"\s*\n\s*f?"', "", text)
    return _STRING.findall(joined)


def test_no_other_module_writes_a_status_or_a_count() -> None:
    count_writes = re.compile(
        r"(INSERT INTO|UPDATE|DELETE FROM)\s+"
        r"(recording_day_counts|recording_expiry_counts|recording_expiry_status_counts)\b"
        r"|UPDATE meetings SET .*\b(recording_count|first_invoked_time|last_invoked_time)\b"
    )
    status_writes: dict[str, list[str]] = {}
    count_writers: set[str] = set()
    for path in SRC.rglob("*.py"):
        name = str(path.relative_to(SRC))
        if name == "db/schema.py":  # the migrations: history, run once
            continue
        for sql in _sql(path):
            if count_writes.search(sql):
                count_writers.add(name)
            if "UPDATE recordings SET" in sql:
                sets = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
                if "{" in sets or re.search(r"\bstatus\b", sets):
                    status_writes.setdefault(name, []).append(sql)
    assert count_writers == {"recordings/counts.py"}
    assert list(status_writes) == ["recordings/live_repository.py"]
    assert len(status_writes["recordings/live_repository.py"]) == 1  # transition's
