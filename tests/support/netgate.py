"""A port on 127.0.0.1 whose behaviour a test switches: closed (connection refused), a black
hole (accepts, never answers: a transfer hangs) or open (forwards to a real server). Lets a test
take a destination down and bring it back on the same address, without touching its config."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.live import free_port


class Gate:
    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.accepted = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def forward(self) -> None:
        self._listen(forward=True)

    def black_hole(self) -> None:
        self._listen(forward=False)

    def close(self) -> None:
        """Refuse connections, and cut the ones under way."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave the port
            # listening until that call returns.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _listen(self, *, forward: bool) -> None:
        self.close()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener, forward), daemon=True).start()

    def _accept(self, listener: socket.socket, forward: bool) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._conns.append(conn)
            if forward:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                with self._lock:
                    self._conns.append(upstream)
                for a, b in ((conn, upstream), (upstream, conn)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
