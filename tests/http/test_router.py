"""The router's resolved paths: a path seen before answers as it did the first time, each
request with parameters of its own, and the paths kept stay bounded."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response

from reckit.errors import BadRequest
from reckit.http import router as router_module
from reckit.http.router import Router


async def _one(request: Request, params: dict[str, str]) -> Response:
    return Response()


async def _track(request: Request, params: dict[str, str]) -> Response:
    return Response()


def _router() -> Router:
    r = Router()
    r.add("GET", "/accounts/{account_id}/recordings/{recording_id}", _one)
    r.add("GET", "/accounts/{account_id}/recordings/track", _track)
    return r


def test_a_path_resolves_alike_every_time() -> None:
    r = _router()
    path = b"/client/v4/accounts/a%2Fb/recordings/r1/?x=1"
    for _ in range(3):
        match = r.resolve("GET", path)
        assert match is not None and match.handler is _one
        assert match.params == {"account_id": "a/b", "recording_id": "r1"}
        assert match.template == "/accounts/{account_id}/recordings/{recording_id}"
    track = r.resolve("GET", b"/accounts/a/recordings/track")
    assert track is not None and track.handler is _track
    put = r.resolve("PUT", b"/accounts/a/recordings/r1")
    assert put is not None and put.handler is None and put.allowed == ["GET"]
    assert r.resolve("GET", b"/nowhere") is None
    assert r.resolve("GET", b"/nowhere") is None


def test_each_request_has_its_own_parameters() -> None:
    r = _router()
    first = r.resolve("GET", b"/accounts/a/recordings/r1")
    assert first is not None
    first.params["recording_id"] = "changed"
    again = r.resolve("GET", b"/accounts/a/recordings/r1")
    assert again is not None and again.params["recording_id"] == "r1"


def test_a_route_added_later_is_found_on_a_path_seen_before() -> None:
    r = _router()
    assert r.resolve("POST", b"/accounts/a/recordings/r1") is not None
    assert r.resolve("GET", b"/accounts/a/meetings") is None

    async def meetings(request: Request, params: dict[str, str]) -> Response:
        return Response()

    r.add("GET", "/accounts/{account_id}/meetings", meetings)
    r.add("POST", "/accounts/{account_id}/recordings/{recording_id}", meetings)
    found = r.resolve("GET", b"/accounts/a/meetings")
    assert found is not None and found.handler is meetings
    post = r.resolve("POST", b"/accounts/a/recordings/r1")
    assert post is not None and post.handler is meetings


def test_a_malformed_path_is_refused_every_time() -> None:
    r = _router()
    for _ in range(2):
        with pytest.raises(BadRequest):
            r.resolve("GET", b"/accounts/%zz/recordings/r1")


def test_the_paths_kept_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router_module, "RESOLVED_KEPT", 5)
    r = _router()
    for i in range(20):
        match = r.resolve("GET", f"/accounts/a/recordings/r{i}".encode())
        assert match is not None and match.params["recording_id"] == f"r{i}"
        assert len(r._resolved) <= 5
