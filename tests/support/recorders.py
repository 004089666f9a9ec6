"""The reference recorder as ``reckit serve`` runs it (``_builtin_recorder`` in cli/serve.py): a
recorder token, a ``RecorderClient`` polling the server over HTTP, the ``ReferenceRecorder`` in
a thread, capturing into a work dir. For tests that promise what users get: real FFmpeg."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from reckit.capture.tokens import create_recorder_token, revoke_recorder_tokens_named
from reckit.clock import SystemClock
from reckit.recorder.client import RecorderClient
from reckit.recorder.worker import POLL_INTERVAL_S, ReferenceRecorder
from tests.support.live import LiveServer


@contextlib.contextmanager
def builtin_recorder(
    server: LiveServer,
    work_dir: Path,
    *,
    name: str = "builtin",
    capacity: int = 4,
    poll_interval_s: float = POLL_INTERVAL_S,
) -> Iterator[ReferenceRecorder]:
    """Runs until the block ends; its token made anew, the previous one of that name revoked."""
    with server.db.transaction(write=True) as tx:
        revoke_recorder_tokens_named(tx, SystemClock(), name)
        token, _ = create_recorder_token(tx, SystemClock(), name)
    client = RecorderClient(server.url, token)
    recorder = ReferenceRecorder(client, work_dir, capacity, poll_interval_s)
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), name="recorder", daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        stop.set()
        thread.join(30)
        client.close()
