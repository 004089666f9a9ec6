"""A TCP relay a test can switch: ``forward`` (to the target), ``stall`` (accept, read and
never answer: a server that hangs), or ``cut`` (every connection closed, nothing listening: a
server that went away), on the same port throughout."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time

# Below Linux's ephemeral range (32768-60999): between a cut and the next start, no outgoing
# connection of this or another test process can be given the port.
STABLE_PORTS = range(20000, 32000)


def stable_port() -> int:
    """A free port outside the ephemeral range, to listen on again and again."""
    for _ in range(100):
        port = random.choice(STABLE_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


class Proxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = stable_port()
        self.mode = "forward"
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, mode: str = "forward") -> None:
        """Listen (again), relaying new connections as ``mode`` says."""
        self.mode = mode
        if self._listener is not None:
            return
        deadline = time.monotonic() + 5
        while True:
            listener = socket.socket()
            try:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", self.port))
                listener.listen(64)
                break
            except OSError:
                listener.close()
                # The port may be released a moment after a cut (a connection still closing).
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(client)
            if self.mode == "stall":
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _swallow(a: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while a.recv(65536):
                pass

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Stop listening and close every connection."""
        if self._listener is not None:
            # shutdown first: it wakes the thread blocked in accept(), which would otherwise
            # keep the socket listening past close() until a connection came, and a start()
            # soon after would find the port still in use.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._sockets.clear()
