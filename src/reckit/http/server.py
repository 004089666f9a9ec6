"""Run the ASGI app under uvicorn (uvloop and httptools are installed with it)."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database

if TYPE_CHECKING:
    from reckit.http.app import ReckitApp


# The parent's whole Settings, for its worker processes (``run``): what the command line gave
# (--host, --port, --data-dir) as well as what the environment did.
SETTINGS_ENV = "RECKIT_SERVE_SETTINGS"
POLL_PATH = "/recorder/v1/poll"


def app_from_environment() -> ReckitApp:
    """The factory each worker process calls: its settings are the parent's (``run`` put them
    in the environment whole), and each worker opens its own connections."""
    from reckit.http.app import create_app

    settings = worker_settings(os.environ)
    return create_app(settings, Database(settings.resolved_database_url), SystemClock())


def worker_settings(environ: Mapping[str, str]) -> Settings:
    """The settings ``run`` passed on; without them (the factory started by hand), the
    environment's."""
    given = environ.get(SETTINGS_ENV)
    return Settings.from_json(given) if given else Settings.from_env(environ)


class QuietPolls(logging.Filter):
    """Keeps the recorders' successful polls (several a second) out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access line: (client, method, path with query, HTTP version, status).
        if isinstance(args, tuple) and len(args) == 5:
            _, method, path, _, status = args
            poll = method == "POST" and str(path).rstrip("/").endswith(POLL_PATH)
            if poll and isinstance(status, int):
                return status >= 400
        return True


def log_config(log_polls: bool) -> dict[str, Any]:
    """uvicorn's logging, with ``QuietPolls`` on its access logger unless ``log_polls``; a
    dictionary, so that every worker process sets it up too."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if not log_polls:
        config.setdefault("filters", {})["quiet_polls"] = {"()": f"{__name__}.QuietPolls"}
        config["loggers"]["uvicorn.access"]["filters"] = ["quiet_polls"]
    return config


def run(
    settings: Settings,
    db: Database,
    workers: int = 1,
    access_log: bool = True,
    log_polls: bool = False,
) -> None:
    # uvicorn takes an app, or an import string for workers in other processes.
    config: Any = "reckit.http.server:app_from_environment"
    if workers == 1:
        from reckit.http.app import create_app

        config = create_app(settings, db, SystemClock())
    else:
        # Several processes share one store (SQLite in WAL mode, or PostgreSQL). The parent
        # only supervises: it never loads the app (import string, above). The workers are
        # spawned with this process's environment.
        os.environ[SETTINGS_ENV] = settings.to_json()
    uvicorn.run(
        config,
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        log_config=log_config(log_polls),
        log_level="info",
        server_header=False,
    )
