"""An ASGI application under uvicorn on a loopback port, in a thread of this process: what the
tests' ``run_server`` and the benchmarks that need a real socket share."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


@contextlib.contextmanager
def uvicorn_in_thread(app: ASGIApp, port: int, stop_timeout_s: float = 30) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` (lifespan on, no access log) until the block ends;
    yields its base URL once it answers."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"reckit-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("reckit did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(stop_timeout_s)
