"""The socket that `reckit serve --workers N` shares among its workers (http/server.py,
``listening_socket``): a connection accepted from it has Nagle's algorithm off, as with one
worker, so that a response is not held back waiting for the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from reckit.http.server import listening_socket
from tests.support.live import free_port


async def _nodelay_of_an_accepted_connection(sock: socket.socket, port: int) -> int:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            conn = transport.get_extra_info("socket")
            seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Accepted, sock=sock)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(seen, 10)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


def test_a_connection_accepted_from_the_workers_socket_sends_at_once() -> None:
    port = free_port()
    config = uvicorn.Config(app=lambda: None, host="127.0.0.1", port=port, log_config=None)
    sock = listening_socket(config)
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_nodelay_of_an_accepted_connection(sock, port)) == 1
