"""Run the ASGI app under uvicorn (uvloop and httptools are installed with it)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from reckit import logs
from reckit.clock import SystemClock
from reckit.config import LogSettings, Settings
from reckit.db.engine import Database

# The parent's whole Settings, for its worker processes (``run``): what the command line gave
# (--host, --port, --data-dir) as well as what the environment did.
SETTINGS_ENV = "RECKIT_SERVE_SETTINGS"
POLL_PATH = "/recorder/v1/poll"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode


def app_from_environment() -> ASGIApp:
    """The factory each worker process calls: its settings are the parent's (``run`` put them
    in the environment whole), and each worker opens its own connections. uvicorn has applied
    the parent's logging configuration in the worker before it calls this; a factory started
    some other way sets up the same from the environment (``RECKIT_LOG_*``)."""
    from reckit.http.app import build_asgi_app

    if not logs.is_configured():
        logs.configure(log_config(log_polls=False, log=LogSettings.from_env(os.environ)))
    settings = worker_settings(os.environ)
    from reckit.jobs.node import load_node_id

    logs.set_node(load_node_id(settings.data_dir))  # the parent's node (its data dir)
    app = build_asgi_app(settings, Database(settings.resolved_database_url), SystemClock())
    return RequestIds(app)


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


def log_config(log_polls: bool, log: LogSettings | None = None) -> dict[str, Any]:
    """The process's whole logging (``reckit.logs``: reckit's loggers and uvicorn's, one line
    per event), with ``QuietPolls`` on the access logger unless ``log_polls``; a dictionary,
    so that uvicorn applies it in every worker process too."""
    config = logs.dict_config(log or LogSettings())
    if not log_polls:
        config["filters"]["quiet_polls"] = {"()": f"{__name__}.QuietPolls"}
        config["loggers"]["uvicorn.access"]["filters"] = ["quiet_polls"]
    return config


# A recording named in a request's path: the public API's and the recorder API's
# ``…/recordings/{id}…``, and a download link's ``/dl/{app}/{id}/{file}``.
_RECORDING_IN_PATH = re.compile(
    r"(?:/recordings/|/dl/[^/]+/)([0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}"
    r"-[0-9A-Fa-f]{12})(?:/|$)"
)


# An incoming X-Request-Id (a load balancer's, a client's) is kept when it is this plain.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID_HEADER = b"x-request-id"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SANE_REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return secrets.token_hex(6)


class RequestIds:
    """Tags every event logged while a request is served (uvicorn's access line included)
    with a request ID, and with the recording ID its path names, if any
    (``reckit.logs.bound``); the ID is the request's own ``X-Request-Id`` when that is plain
    (at most 64 letters, digits and ``._:-``), else a new one, and the response carries it in
    ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _RECORDING_IN_PATH.search(scope.get("path", ""))
        recording = found.group(1) if found else None
        request_id = _request_id(scope)
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        with logs.bound(request_id=request_id, recording_id=recording):
            await self.app(scope, receive, send_with_id)


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, but a first SIGTERM runs ``drain`` (on a thread, while requests are
    still served) before the graceful stop begins; a second SIGTERM or Ctrl-C stops at once."""

    def __init__(self, config: uvicorn.Config, drain: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.drain = drain
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self.drain is None or self._draining or self.should_exit:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        drain = self.drain

        def drain_then_exit() -> None:
            _run_drain(drain)
            super(_DrainingServer, self).handle_exit(sig, frame)

        threading.Thread(target=drain_then_exit, name="drain", daemon=True).start()


class _DrainingMultiprocess(Multiprocess):
    """uvicorn's supervisor of worker processes, draining as ``_DrainingServer`` does before
    it stops its workers. Ctrl-C stops at once, but runs ``stop_first`` before the workers go:
    this process keeps the listening socket, so a request made after they went (the built-in
    recorder's poll) would wait out its whole timeout."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        drain: Callable[[], None] | None,
        stop_first: Callable[[], None] | None,
    ) -> None:
        super().__init__(config, sockets)
        self.drain = drain
        self.stop_first = stop_first
        self._draining = False

    def handle_term(self) -> None:
        if self._draining or self.drain is None:
            self.handle_int()
            return
        self._draining = True
        self._then(self.drain, super().handle_term)

    def handle_int(self) -> None:
        if self.stop_first is None:
            super().handle_int()
            return
        self._then(self.stop_first, super().handle_int)

    @staticmethod
    def _then(first: Callable[[], None], then: Callable[[], None]) -> None:
        def run() -> None:
            _run_drain(first)
            then()

        threading.Thread(target=run, name="drain", daemon=True).start()


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers share. uvicorn makes it with protocol 0, which the connections
    accepted from it inherit, and asyncio turns Nagle's algorithm off only on a socket whose
    protocol says TCP: a response written in two parts then waited for the client's delayed
    ACK (40 ms; bench/http_mix.py with 2 workers: p50 44 ms, the CPU half idle). The same
    descriptor, its protocol read from the kernel, says TCP."""
    return socket.socket(fileno=config.bind_socket().detach())


def _run_drain(drain: Callable[[], None]) -> None:
    try:
        drain()
    except Exception:
        logging.getLogger("reckit.serve").exception("draining failed; stopping anyway")


def run(
    settings: Settings,
    db: Database,
    workers: int = 1,
    access_log: bool = True,
    log_polls: bool = False,
    log: LogSettings | None = None,
    drain: Callable[[], None] | None = None,
    stop_first: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM or Ctrl-C. ``drain``: what a SIGTERM does first, while requests are
    still served (``reckit serve``: the built-in recorder hands its recordings in);
    ``stop_first``: what any stop does first with several workers (``reckit serve``: the
    built-in recorder stops polling)."""
    # uvicorn takes an app, or an import string for workers in other processes.
    config: Any = "reckit.http.server:app_from_environment"
    metrics_dir: str | None = None
    if workers == 1:
        from reckit.http.app import build_asgi_app

        config = RequestIds(build_asgi_app(settings, db, SystemClock()))
    else:
        # Several processes share one store (SQLite in WAL mode, or PostgreSQL). The parent
        # only supervises: it never loads the app (import string, above). The workers are
        # spawned with this process's environment.
        os.environ[SETTINGS_ENV] = settings.to_json()
        if settings.metrics and not os.environ.get(MULTIPROC_ENV):
            # Each worker keeps its counts in files here; a scrape adds them all up
            # (http/metrics.py). Made fresh for this server, removed when it stops.
            metrics_dir = tempfile.mkdtemp(prefix="reckit-metrics-")
            os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        _run_uvicorn(config, settings, workers, access_log, log_polls, log, drain, stop_first)
    finally:
        if metrics_dir is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(
    app: Any,
    settings: Settings,
    workers: int,
    access_log: bool,
    log_polls: bool,
    log: LogSettings | None,
    drain: Callable[[], None] | None,
    stop_first: Callable[[], None] | None = None,
) -> None:
    """``uvicorn.run``, with the draining server and supervisor above."""
    config = uvicorn.Config(
        app,
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        # Applied here and again in each worker process; the levels are in it (log_level
        # would set uvicorn's loggers apart from reckit's).
        log_config=log_config(log_polls, log),
        log_level=None,
        server_header=False,
        # asyncio's own loop, not uvloop: the list's SQLite reads run on the event loop
        # (http/context.py, read_granted), and under a saturating load uvloop left some
        # connections unread for seconds between them (bench/http_mix.py: p99 6-8 s, against
        # under 1 s with asyncio's loop and less CPU per request).
        loop="asyncio",
        # SIGTERM or Ctrl-C: no new connections; requests under way get this long to finish.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
    )
    if workers > 1:
        sockets = [listening_socket(config)]
        if drain is None and stop_first is None:
            Multiprocess(config, sockets=sockets).run()
        else:
            _DrainingMultiprocess(config, sockets, drain, stop_first).run()
        return
    config.load_app()
    server = _DrainingServer(config, drain)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
