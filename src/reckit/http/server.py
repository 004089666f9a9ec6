"""Run the ASGI app under uvicorn (uvloop and httptools are installed with it)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import uvicorn

from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database

if TYPE_CHECKING:
    from reckit.http.app import ReckitApp


def app_from_environment() -> ReckitApp:
    """The factory each worker process calls: its settings come from the environment that
    ``run`` prepared, and each worker opens its own connections."""
    from reckit.http.app import create_app

    settings = Settings.from_env()
    return create_app(settings, Database(settings.resolved_database_url), SystemClock())


def run(settings: Settings, db: Database, workers: int = 1, access_log: bool = True) -> None:
    # uvicorn takes an app, or an import string for workers in other processes.
    config: Any = "reckit.http.server:app_from_environment"
    if workers == 1:
        from reckit.http.app import create_app

        config = create_app(settings, db, SystemClock())
    else:
        # Several processes share one store (SQLite in WAL mode, or PostgreSQL). The parent
        # only supervises: it never loads the app (import string, above).
        os.environ["RECKIT_DATA_DIR"] = str(settings.data_dir)
        os.environ["RECKIT_DATABASE_URL"] = settings.resolved_database_url
    uvicorn.run(
        config,
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        log_level="info",
        server_header=False,
    )
