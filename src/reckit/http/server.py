"""Run the ASGI app under uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import uvicorn

from reckit.clock import Clock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.http.app import create_app


def run(
    settings: Settings, db: Database, clock: Clock | None = None, access_log: bool = True
) -> None:
    uvicorn.run(
        create_app(settings, db, clock),
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        log_level="info",
        server_header=False,
    )
