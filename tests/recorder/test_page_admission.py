"""What the API accepts for a page recording (``url``), and which recorder gets one: only a
recorder that says it has room for a page recording (``page_slots`` in its poll) claims one;
the others leave it INVOKED for a recorder with room, and still take the rest of the queue."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudflare import BadRequestError, Cloudflare

from reckit.capture.tokens import create_recorder_token
from reckit.clock import ManualClock, SystemClock
from reckit.config import Settings
from reckit.recorder.client import RecorderClient
from reckit.recorder.page import page_capacity, with_app_params
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.pg import own_database

PAGE = "http://127.0.0.1:9/page.html"


@contextlib.contextmanager
def _server(
    tmp_path: Path, allow_private: bool, clock: ManualClock | None = None
) -> Iterator[LiveServer]:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=tmp_path,
        sweep_interval_s=0,
        page_allow_private=allow_private,
    )
    with own_database("sqlite", tmp_path) as db, run_server(db, settings, clock) as live:
        yield live


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with _server(tmp_path, False) as live:
        yield live


@pytest.fixture
def beside(tmp_path: Path) -> Iterator[LiveServer]:
    """A server that records pages served beside it (RECKIT_PAGE_ALLOW_PRIVATE=1)."""
    with _server(tmp_path, True) as live:
        yield live


def _sdk(server: LiveServer, t: Tenant) -> Cloudflare:
    return Cloudflare(
        api_token=t.token,
        base_url=server.api,
        max_retries=0,
        http_client=ValidatingClient(),
        _strict_response_validation=True,
    )


def _start(cf: Cloudflare, t: Tenant, **body: Any) -> str:
    rk = cf.realtime_kit
    meeting = rk.meetings.create(t.app_id, account_id=t.account_id, title="m").data
    assert meeting is not None and meeting.id is not None
    rec = rk.recordings.start_recordings(
        t.app_id, account_id=t.account_id, meeting_id=meeting.id, **body
    ).data
    assert rec is not None
    return str(rec.id)


def _recorder(server: LiveServer, name: str) -> RecorderClient:
    with server.db.transaction(write=True) as tx:
        token, _ = create_recorder_token(tx, SystemClock(), name)
    return RecorderClient(server.url, token)


def test_a_url_must_be_a_public_http_page_recorded_in_h264_and_aac(server: LiveServer) -> None:
    t = new_tenant(server.db)
    with _sdk(server, t) as cf:
        for url, why in [
            ("ftp://example.com/page", "must be an http:// or https:// URL"),
            ("file://host/etc/passwd", "must be an http:// or https:// URL"),
            ("http://127.0.0.1:8080/page", "loopback, private or link-local"),
            ("http://10.1.2.3/page", "loopback, private or link-local"),
            ("http://169.254.169.254/latest/meta-data", "loopback, private or link-local"),
            ("http://[::1]/page", "loopback, private or link-local"),
            ("http://localhost:3000/", "RECKIT_PAGE_ALLOW_PRIVATE=1 allows it"),
        ]:
            with pytest.raises(BadRequestError, match=re.escape(why)):
                _start(cf, t, url=url)
        for video, audio in [
            ({"codec": "VP8"}, {}),
            ({"codec": "VP9"}, {}),
            ({}, {"codec": "MP3"}),
        ]:
            with pytest.raises(BadRequestError, match=r"H\.264 video with AAC audio only"):
                _start(cf, t, url="https://example.com/", video_config=video, audio_config=audio)
        # A public page is accepted (no recorder runs here: it waits INVOKED).
        assert _start(cf, t, url="https://example.com/layout?room=1")


def test_only_a_recorder_with_room_claims_a_page_recording(beside: LiveServer) -> None:
    t = new_tenant(beside.db)
    with _sdk(beside, t) as cf:
        first_page = _start(cf, t, url=PAGE)
        second_page = _start(cf, t, url=PAGE)
        composite = _start(cf, t)
    busy, roomy = _recorder(beside, "busy"), _recorder(beside, "roomy")
    try:
        # No room for a page: the composite behind the two pages is claimed.
        got = busy.poll(4, [], "a", page_slots=0)
        assert [item["id"] for item in got] == [composite]
        # A recorder that does not say (one that knows nothing of pages) takes none either.
        assert [item["id"] for item in busy.poll(4, [composite], "a")] == [composite]
        # Room for one: the oldest page recording, and only it.
        got = roomy.poll(4, [], "b", page_slots=1)
        assert [item["id"] for item in got] == [first_page]
        assert got[0]["config"]["url"] == PAGE
        got = roomy.poll(4, [first_page], "b", page_slots=0)
        assert [item["id"] for item in got] == [first_page]
        # Room again (a node with more cores, or the first one ended): the second one.
        got = roomy.poll(4, [first_page], "b", page_slots=1)
        assert [item["id"] for item in got] == [first_page, second_page]
    finally:
        busy.close()
        roomy.close()


def test_a_page_recording_no_recorder_has_room_for_ends_at_the_claim_timeout(
    tmp_path: Path,
) -> None:
    clock = ManualClock(1_800_000_000_000)
    with _server(tmp_path, True, clock) as live:
        t = new_tenant(live.db)
        with _sdk(live, t) as cf:
            rid = _start(cf, t, url=PAGE)
            busy = _recorder(live, "full")
            try:
                assert busy.poll(4, [], "a", page_slots=0) == []
                claim_ms = int(live.settings.claim_timeout_s * 1000)
                clock.advance(claim_ms - 1)
                live.app.sweep_once()
                assert busy.poll(4, [], "a", page_slots=0) == []
                assert _status(cf, t, rid) == "INVOKED"
                clock.advance(1)
                live.app.sweep_once()
            finally:
                busy.close()
            # error_reason is reckit's extension: the SDK's model keeps it as an extra field.
            done: Any = cf.realtime_kit.recordings.get_one_recording(
                rid, account_id=t.account_id, app_id=t.app_id
            ).data
        assert done is not None and done.status == "ERRORED"
        assert done.error_reason is not None
        assert "every one is at capacity" in done.error_reason


def _status(cf: Cloudflare, t: Tenant, rid: str) -> str:
    rec = cf.realtime_kit.recordings.get_one_recording(
        rid, account_id=t.account_id, app_id=t.app_id
    ).data
    assert rec is not None and rec.status is not None
    return str(rec.status)


def test_a_two_core_node_takes_one_page_recording_at_a_time() -> None:
    assert page_capacity(1) == 1
    assert page_capacity(2) == 1
    assert page_capacity(4) == 2
    assert page_capacity(16) == 10


def test_the_parameters_a_recording_app_reads_are_added_unless_present() -> None:
    params = {"authToken": "t", "apiBase": "http://reckit", "meetingId": "m", "recordingId": "r"}
    assert with_app_params("https://x.example/app", params) == (
        "https://x.example/app?authToken=t&apiBase=http%3A%2F%2Freckit&meetingId=m&recordingId=r"
    )
    assert with_app_params("https://x.example/app?meetingId=mine&z=1#top", params) == (
        "https://x.example/app?meetingId=mine&z=1&authToken=t&apiBase=http%3A%2F%2Freckit"
        "&recordingId=r#top"
    )
