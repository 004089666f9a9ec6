"""A corpus of malformed requests on every route that takes a body or a signed link, public API
and recorder API alike: invalid UTF-8, JSON nested a thousand deep, bodies that are not objects,
numbers that fit no column, digits that are not ASCII, IDs of another app. Each answer must be
a 4xx in reckit's error envelope: never a 500, never a stack trace."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from reckit.clock import SystemClock
from reckit.db.engine import Database
from tests.support.builders import add_meeting
from tests.support.flows import Scripted
from tests.support.live import LiveServer, Tenant, new_tenant


@pytest.fixture(scope="session")
def server(socket_server: LiveServer) -> LiveServer:
    """reckit on a port here: raw requests that a client library would refuse to send go
    through a socket."""
    return socket_server


DEEP_ARRAY = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000
# Malformed bodies any JSON route must refuse with a 400.
BAD_BODIES: dict[str, bytes] = {
    "deep array": DEEP_ARRAY,
    "deep object": DEEP_OBJECT,
    "deep under an unknown key": b'{"zz_unknown": ' + DEEP_ARRAY + b"}",
    "invalid UTF-8 in a value": b'{"title": "\xff\xfe"}',
    "overlong UTF-8": b'{"meeting_id": "\xc0\xaf"}',
    "CESU surrogate": b'{"meeting_id": "\xed\xa0\x80\xed\xb0\x80"}',
    "truncated multibyte": b'{"name": "\xe2\x82"}',
    "invalid UTF-8 in a key": b'{"\xff": 1}',
    "Latin-1 text": '{"title": "café"}'.encode("latin-1"),
    "an array": b"[1, 2, 3]",
    "a string": b'"hello"',
    "a number": b"42",
    "null": b"null",
    "trailing garbage": b'{"title": "x"} trailing',
    "unterminated": b'{"title": "x"',
    "NaN": b'{"max_seconds": NaN}',
    "a lone surrogate escape in a key": b'{"\\ud800": 1, "zz": [' + b"[" * 600 + b"]" * 600 + b"]}",
}


@dataclass
class World:
    server: LiveServer
    tenant: Tenant
    meeting_id: str
    recorder_token: str
    recording_id: str


@pytest.fixture
def world(server: LiveServer, database: Database) -> Iterator[World]:
    t = new_tenant(database)
    meeting = add_meeting(database, t.app_id, "malformed")
    # A recording this recorder holds, for the recorder API's per-recording routes.
    recorder = Scripted.connect(server.url, database, SystemClock(), "malformed-holder")
    other = add_meeting(database, t.app_id, "held")
    kit = f"/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}"
    status, body = send(
        server, "POST", f"{kit}/recordings", t.auth, json.dumps({"meeting_id": other.id}).encode()
    )
    assert status == 200, body
    rid = body["data"]["id"]
    recorder.claim(rid)
    recorder.started(rid)
    yield World(server, t, meeting.id, recorder.http.headers["authorization"], rid)
    recorder.close()


def send(
    server: LiveServer, method: str, target: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, Any]:
    """The request exactly as given (no client-side encoding); status and parsed body."""
    host = urlsplit(server.url)
    conn = http.client.HTTPConnection(host.hostname or "", host.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in {
            **headers,
            "content-type": "application/json",
            "content-length": str(len(body)),
        }.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode("latin-1")
    finally:
        conn.close()


def assert_refused(status: int, body: Any, what: str) -> None:
    assert 400 <= status < 500, (what, status, body)
    assert isinstance(body, dict), (what, body)
    assert body.get("success") is False, (what, body)
    text = json.dumps(body)
    assert "Traceback" not in text and "Error:" not in text.split("message")[0], (what, body)
    if "error" in body:  # reckit's own envelope
        assert set(body["error"]) == {"code", "message"} and body["error"]["code"] == status
    else:  # the gateway's v4 envelope (auth errors)
        assert body["errors"] and body["result"] is None


def _routes(w: World) -> list[tuple[str, str, dict[str, str]]]:
    t = w.tenant
    kit = f"/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}"
    rec = {"authorization": w.recorder_token}
    holder = {"authorization": w.recorder_token}
    return [
        ("POST", f"{kit}/meetings", t.auth),
        ("PATCH", f"{kit}/meetings/{w.meeting_id}", t.auth),
        ("PUT", f"{kit}/meetings/{w.meeting_id}", t.auth),
        ("POST", f"{kit}/recordings", t.auth),
        ("POST", f"{kit}/recordings/track", t.auth),
        ("PUT", f"{kit}/recordings/{w.recording_id}", t.auth),
        ("POST", f"/client/v4/accounts/{t.account_id}/realtime/kit/apps", t.auth),
        ("POST", "/recorder/v1/poll", rec),
        ("POST", "/recorder/v1/sessions", rec),
        ("POST", "/recorder/v1/sessions/00000000-0000-4000-8000-000000000000/participants", rec),
        ("POST", f"/recorder/v1/recordings/{w.recording_id}/failed", holder),
        ("POST", f"/recorder/v1/recordings/{w.recording_id}/complete", holder),
    ]


def test_every_malformed_body_on_every_route_is_a_4xx(world: World) -> None:
    cases = 0
    for method, target, headers in _routes(world):
        for what, body in BAD_BODIES.items():
            status, answer = send(world.server, method, target, headers, body)
            assert_refused(status, answer, f"{method} {target}: {what}")
            cases += 1
    assert cases >= 100


def test_numbers_that_fit_no_column_are_a_400(world: World) -> None:
    rid = world.recording_id
    for duration in ("1e308", "1e400", "-1", "9007199254740993e10"):
        status, body = send(
            world.server,
            "POST",
            f"/recorder/v1/recordings/{rid}/complete",
            {"authorization": world.recorder_token},
            f'{{"files": {{"a.mp4": {{"role": "video"}}}}, "duration_s": {duration}}}'.encode(),
        )
        assert_refused(status, body, f"duration {duration}")
    t = world.tenant
    kit = f"/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}"
    for body in (
        b'{"meeting_id": "%s", "max_seconds": 1e308}' % world.meeting_id.encode(),
        b'{"meeting_id": "%s", "video_config": {"width": 99999999999999999999999}}'
        % world.meeting_id.encode(),
    ):
        status, answer = send(world.server, "POST", f"{kit}/recordings", t.auth, body)
        assert_refused(status, answer, body.decode())
    # The recording is untouched: still capturing.
    status, answer = send(world.server, "GET", f"{kit}/recordings/{rid}", t.auth)
    assert status == 200 and answer["data"]["status"] == "RECORDING"


def test_sessions_of_unknown_apps_or_other_apps_meetings_are_refused(
    world: World, database: Database
) -> None:
    other = new_tenant(database)
    foreign = add_meeting(database, other.app_id, "someone else's")
    rec = {"authorization": world.recorder_token}
    for body in (
        {"app_id": "no-such-app", "meeting_id": world.meeting_id},
        {"app_id": world.tenant.app_id, "meeting_id": foreign.id},
        {"app_id": world.tenant.app_id, "meeting_id": "00000000-0000-4000-8000-000000000000"},
        {"app_id": world.tenant.app_id, "meeting_id": "not-a-uuid"},
    ):
        status, answer = send(
            world.server, "POST", "/recorder/v1/sessions", rec, json.dumps(body).encode()
        )
        assert_refused(status, answer, str(body))
    # A session ID reused for another meeting is refused too, not taken as a replay.
    status, answer = send(
        world.server,
        "POST",
        "/recorder/v1/sessions",
        rec,
        json.dumps({"app_id": world.tenant.app_id, "meeting_id": world.meeting_id}).encode(),
    )
    assert status == 200, answer
    sid = answer["data"]["session_id"]
    again = {"app_id": other.app_id, "meeting_id": foreign.id, "session_id": sid}
    status, answer = send(
        world.server, "POST", "/recorder/v1/sessions", rec, json.dumps(again).encode()
    )
    assert_refused(status, answer, "session of another meeting")


@pytest.mark.parametrize(
    "query",
    [
        "e=%C2%B2&s=x",  # superscript two: str.isdigit() is true, int() fails
        "e=%EF%BC%91%EF%BC%92%EF%BC%93&s=x",  # fullwidth digits
        "e=%D9%A1%D9%A2%D9%A3&s=x",  # Arabic-Indic digits
        "e=0123&s=x",  # a leading zero: not the canonical form
        "e=-5&s=x",
        "e=&s=x",
        "s=x",
        "e=99999999999999999999&s=x",
        "e=1790000000000&s=%C3%BC",  # a non-ASCII signature
        "e=1790000000000&s=",
        "e=1790000000000",
    ],
)
def test_download_links_are_read_strictly(server: LiveServer, query: str) -> None:
    status, body = send(server, "GET", f"/dl/a/b/c?{query}", {})
    assert status == 403, (query, status, body)
    assert_refused(status, body, query)
