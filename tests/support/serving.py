"""`reckit serve` as a separate process, as users run it: started with ``python -m reckit.cli``
in its own session (so a test can kill it and everything it started), and a probe for when it
answers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


def is_up(url: str) -> bool:
    """Whether a reckit at ``url`` answers (its OpenAPI document)."""
    try:
        return httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def serve_process(
    data_dir: Path,
    port: int,
    database_url: str,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`reckit serve` on 127.0.0.1:``port`` over ``database_url``, its output discarded;
    ``extra``: more of its options."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reckit.cli",
            "serve",
            "--port",
            str(port),
            "--no-access-log",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        env={**os.environ, "RECKIT_DATABASE_URL": database_url, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
