"""Fixtures that start real things: SQLite files, a fresh PostgreSQL database per run, and reckit
itself on a port, driven over HTTP.

PostgreSQL: RECKIT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is
the server; each run creates its own database and drops it at the end. With CI=true a missing
server fails the run; elsewhere its tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from hypothesis import settings

from reckit.accounts.service import create_account
from reckit.apps.service import create_app
from reckit.auth.tokens import create_token
from reckit.clock import Clock, SystemClock
from reckit.config import DEFAULT_DATA_DIR, Settings
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.http.app import ReckitApp
from reckit.http.app import build_asgi_app as create_asgi_app
from tests.leakwatch import WATCH, watched
from tests.openapi_check import validate_response

# The storage servers (moto, gcs, azurite, sshd, ...) as session fixtures, for every module: each
# starts once per run, for the first test that needs it, whichever module that test is in.
pytest_plugins = ("tests.storage_fixtures",)

# CI runs the same examples every time (a red CI must mean a real change); elsewhere Hypothesis
# explores anew on each run.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ENGINES = ("sqlite", "postgres")
# What a test uses of the storage servers, for the ``emulator`` marker: their fixtures, or in its
# module the plugin that has them or a function that starts one (a test that opens a fixture by
# name at run time, or starts a server of its own).
EMULATORS = ("moto", "moto_auth", "gcs", "azurite", "sshd")
SERVER_STARTERS = (
    "moto_server",
    "moto_server_with_auth",
    "gcs_emulator",
    "azurite_server",
    "sshd_server",
)


def _uses_storage_servers(item: pytest.Item) -> bool:
    if any(name in getattr(item, "fixturenames", ()) for name in EMULATORS):
        return True
    module = getattr(item, "module", None)
    if "tests.storage_fixtures" in getattr(module, "pytest_plugins", ()):
        return True
    return any(
        str(getattr(getattr(module, name, None), "__module__", "")).startswith("tests.storage_")
        for name in SERVER_STARTERS
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers that follow from what a test uses (pyproject.toml lists them all): ``postgres``
    for the PostgreSQL half (the ``engine`` fixture's ``postgres`` parameter, or the server's
    URL itself), ``emulator`` for the storage servers. ``slow`` is set in the test modules."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("engine") if callspec is not None else None
        if engine == "postgres" or "pg_server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if _uses_storage_servers(item):
            item.add_marker(pytest.mark.emulator)


@pytest.fixture(scope="session", autouse=True)
def no_secret_leaks() -> Iterator[None]:
    """The leak test: over the whole session, no response body and no log line contains a
    secret that any test sent (tests/leakwatch.py)."""
    # Every line of reckit's own, at every level; warnings and errors of every library.
    root, ours = logging.getLogger(), logging.getLogger("reckit")
    root.addHandler(WATCH)
    previous = ours.level
    ours.setLevel(logging.DEBUG)
    yield
    root.removeHandler(WATCH)
    ours.setLevel(previous)
    assert not WATCH.leaks(), f"secrets leaked: {WATCH.leaks()}"


PG_ADMIN_URL = os.environ.get(
    "RECKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _pg_available() -> str | None:
    """None if a PostgreSQL server answers, else why not."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}".strip()


@contextlib.contextmanager
def new_pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards; its URL."""
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {problem}")
        pytest.skip(problem)
    name = f"reckit_test_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh database for this run; its URL."""
    with new_pg_database() as url:
        yield url


@contextlib.contextmanager
def own_database(engine: str, tmp: Path) -> Iterator[Database]:
    """A store of its own, for tests that must see no other test's recordings (a recorder
    claims whatever is waiting in the whole store)."""
    with contextlib.ExitStack() as stack:
        if engine == "sqlite":
            db = Database(f"sqlite:///{tmp / 'own.sqlite3'}")
        else:
            db = Database(stack.enter_context(new_pg_database()))
        stack.callback(db.close)
        migrate(db)
        yield db


def make_database(engine: str, tmp: Path, request: pytest.FixtureRequest) -> Database:
    if engine == "sqlite":
        db = Database(f"sqlite:///{tmp / 'reckit.sqlite3'}")
    else:
        db = Database(request.getfixturevalue("pg_server_url"))
    migrate(db)
    return db


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """One store per engine for the session. Tests share it but never each other's data:
    every test makes its own account and app (see ``tenant``)."""
    db = make_database(engine, tmp_path_factory.mktemp(engine), request)
    yield db
    db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db: Database
    settings: Settings
    app: ReckitApp

    @property
    def api(self) -> str:
        return f"{self.url}/client/v4"


@contextlib.contextmanager
def run_server(
    db: Database, settings: Settings | None = None, clock: Clock | None = None
) -> Iterator[LiveServer]:
    port = settings.port if settings is not None else free_port()
    # No background timers unless a test asks: tests apply them with app.sweep_once().
    settings = settings or Settings(host="127.0.0.1", port=port, sweep_interval_s=0)
    if settings.data_dir == DEFAULT_DATA_DIR:  # never the working directory's
        settings = replace(settings, data_dir=Path(tempfile.mkdtemp(prefix="reckit-test-")))
    app = create_asgi_app(settings, db, clock)
    config = uvicorn.Config(
        watched(app),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"reckit-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("reckit did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", db, settings, app)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[LiveServer]:
    with run_server(database) as live:
        yield live


@dataclass
class Tenant:
    account_id: str
    app_id: str
    token: str
    token_id: str
    db: Database

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_tenant(db: Database, permission: str = "Realtime Admin") -> Tenant:
    clock = SystemClock()
    with db.transaction(write=True) as tx:
        account_id = create_account(tx, clock, "test account")
        app = create_app(tx, clock, account_id, "test app")
        token, token_id = create_token(tx, clock, account_id, permission)
    return Tenant(account_id, app.id, token, token_id, db)


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return new_tenant(database)


class ValidatingClient(httpx.Client):
    """An httpx client that checks every response against reckit's OpenAPI document."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(event_hooks={"response": [self._check]}, timeout=30, **kwargs)
        self.bodies: list[bytes] = []

    def _check(self, response: httpx.Response) -> None:
        response.read()
        self.bodies.append(response.content)
        validate_response(response.request.method, response.request.url.path, response)


@pytest.fixture
def http() -> Iterator[ValidatingClient]:
    with ValidatingClient() as client:
        yield client


# -- the storage servers' endpoints (the servers themselves: tests/storage_fixtures.py) --------


@pytest.fixture(scope="session")
def endpoints(moto: str, gcs: str) -> dict[str, str]:
    """``Settings.storage_endpoints`` for moto (aws, digitalocean) and the GCS emulator."""
    return {"aws": moto, "digitalocean": moto, "gcs": gcs}
