"""What a hand-in tells of its capture (``service.handed_in``, the ``/metrics`` series
``reckit_capture_realtime_factor``): the media's duration over the time captured, pauses left
out; nothing to tell for a recording with no capture time."""

from __future__ import annotations

from typing import Any

import orjson

from reckit.capture.service import handed_in
from reckit.recordings.models import StoredRecording

STARTED = 1_700_000_000_000


def uploading(**fields: Any) -> StoredRecording:
    values: dict[str, Any] = dict.fromkeys(StoredRecording.__dataclass_fields__)
    values.update(
        id="r1",
        app_id="a1",
        meeting_id="m1",
        kind="composite",
        status="UPLOADING",
        invoked_time=STARTED - 1_000,
        output_file_name="m1_1.mp4",
        allow_multiple=False,
        started_time=STARTED,
        stopped_time=STARTED + 70_000,
        paused_ms=10_000,
    )
    values.update(fields)
    return StoredRecording(**values)


def test_the_factor_is_the_media_over_the_time_captured_less_pauses() -> None:
    h = handed_in(uploading(), 60.0)
    assert h is not None and (h.kind, h.media_s, h.captured_s) == ("composite", 60.0, 60.0)
    assert h.realtime_factor == 1.0
    behind = handed_in(uploading(), 45.0)
    assert behind is not None and behind.realtime_factor == 0.75


def test_the_kind_names_a_page_recording_and_a_track_recording() -> None:
    page = uploading(config=orjson.dumps({"url": "https://example.com/"}).decode())
    assert (h := handed_in(page, 60.0)) is not None and h.kind == "page"
    assert (t := handed_in(uploading(kind="track"), 60.0)) is not None and t.kind == "track"


def test_nothing_without_a_capture_time_or_media() -> None:
    assert handed_in(uploading(started_time=None), 60.0) is None
    assert handed_in(uploading(stopped_time=None), 60.0) is None
    assert handed_in(uploading(stopped_time=STARTED + 10_000), 5.0) is None  # all paused
    assert handed_in(uploading(), 0.0) is None
