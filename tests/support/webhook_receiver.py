"""A real webhook receiver on 127.0.0.1 for the tests: answers each POST with the next status of
its script (then 200), and keeps every request's headers and exact body bytes. It can hold its
answers (``answering`` cleared) to keep a sender waiting."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.live import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived


class Receiver:
    def __init__(self, script: list[int] | None = None, port: int | None = None) -> None:
        self.script = list(script or [])
        # While cleared, each request is kept (it counts as received) but not answered.
        self.answering = threading.Event()
        self.answering.set()
        self.port = port or free_port()
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender went away mid-request (a node killed while sending): as any
                    # HTTP server, no request was received, and the sender had no answer.
                    self.close_connection = True
                    return
                with receiver.arrived:
                    code = receiver.script.pop(0) if receiver.script else 200
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    receiver.arrived.notify_all()
                receiver.answering.wait(60)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True
            # socketserver's default backlog is 5: senders connecting side by side would
            # overflow it and wait for SYN retransmits. Real receivers listen with 128 or more.
            request_queue_size = 128

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, n: int, timeout: float = 30.0) -> list[Received]:
        """The requests, once at least ``n`` have arrived (or the timeout passed)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= n, timeout)
            return list(self.received)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
