"""The recorder's fetch of a watermark image: a host that fails for a moment (a dropped
connection, a 503) is tried again; one that answers 404 fails the fetch at once. (The waits
between tries are shortened here; the recorder's own are 0.5, 1 and 2 s.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from reckit.recorder.worker import _fetch

PNG = b"\x89PNG\r\n\x1a\n" + b"not really a picture, but bytes to keep"


class _Host:
    """Answers each GET with the next of ``script``: ``"drop"`` closes the connection without
    a word, a number answers that status (200 with ``PNG``)."""

    def __init__(self, script: list[str | int]) -> None:
        self.script = list(script)
        self.requests = 0
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests += 1
                step = host.script.pop(0) if host.script else 200
                if step == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = PNG if step == 200 else b"no"
                self.send_response(int(step))
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mark.png"


@pytest.fixture
def host(request: pytest.FixtureRequest) -> Iterator[_Host]:
    h = _Host(request.param)
    thread = threading.Thread(target=h.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield h
    finally:
        h.httpd.shutdown()
        h.httpd.server_close()
        thread.join(10)


@pytest.mark.parametrize("host", [["drop", 503, 429]], indirect=True)
def test_a_host_failing_for_a_moment_is_tried_again(host: _Host, tmp_path: Path) -> None:
    dest = _fetch(host.url, tmp_path / "watermark", backoff_s=0.01)
    assert dest.read_bytes() == PNG
    assert host.requests == 4


@pytest.mark.parametrize("host", [[404]], indirect=True)
def test_a_missing_image_fails_at_once(host: _Host, tmp_path: Path) -> None:
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        _fetch(host.url, tmp_path / "watermark", backoff_s=0.01)
    assert host.requests == 1
    assert not (tmp_path / "watermark").exists()


@pytest.mark.parametrize("host", [[503, 503, 503, 503]], indirect=True)
def test_a_host_that_keeps_failing_fails_the_fetch_after_four_tries(
    host: _Host, tmp_path: Path
) -> None:
    with pytest.raises(httpx.HTTPStatusError, match="503"):
        _fetch(host.url, tmp_path / "watermark", backoff_s=0.01)
    assert host.requests == 4
