"""The fixtures every test module may use: a store per engine (SQLite files, a fresh PostgreSQL
database per run: tests/support/pg.py), reckit itself on a port (tests/support/live.py), a tenant
per test, and the storage servers (tests/support/storage_fixtures.py). Helpers live in
tests/support/; nothing imports from this file."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from reckit.db.engine import Database
from tests.support.leakwatch import WATCH
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    new_tenant,
    run_in_process,
    run_server,
)
from tests.support.pg import make_database, new_pg_database

# The storage servers (moto, gcs, azurite, sshd, ...) as session fixtures, for every module: each
# starts once per run, for the first test that needs it, whichever module that test is in.
pytest_plugins = ("tests.support.storage_fixtures",)

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
    if "tests.support.storage_fixtures" in getattr(module, "pytest_plugins", ()):
        return True
    return any(
        str(getattr(getattr(module, name, None), "__module__", "")).startswith("tests.storage_")
        for name in SERVER_STARTERS
    )


# Tests that need the CPU to themselves: Chromium recording a page (with FFmpeg), and fifty
# FFmpeg encoders at once. scripts/test.sh runs them alone, last.
EXCLUSIVE = (
    "tests/recorder/test_page_recording.py",
    "tests/recorder/test_recorder_concurrency.py",
)
# Tests that mostly wait on real time: small FFmpeg captures (160x120) measured against the time
# they ran, recorders and `reckit serve` killed and restarted, recorder timeouts and leases run
# out on purpose. None measures how fast the machine is: a capture is timed from its first frame
# written, and run two at a time the files were 0.1-0.3 s off the time they ran, where 1 s is
# allowed. scripts/test.sh runs them two at a time, apart from the rest. (The dashboard's browser
# tests and the SIGTERM hand-in only wait for what they see, with room to spare: they run with
# the rest.)
REALTIME = (
    "tests/recorder/",
    "tests/nodes/test_three_nodes.py",
)
TESTS_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers that follow from what a test uses (pyproject.toml lists them all): ``postgres``
    for the PostgreSQL half (the ``engine`` fixture's ``postgres`` parameter, or the server's
    URL itself), ``emulator`` for the storage servers, ``exclusive`` and ``realtime`` by place
    (``EXCLUSIVE``, then ``REALTIME``: a test has one of them at most). ``slow`` is set in the
    test modules."""
    for item in items:
        where = item.path.resolve().relative_to(TESTS_ROOT).as_posix()
        if where.startswith(EXCLUSIVE):
            item.add_marker(pytest.mark.exclusive)
        elif where.startswith(REALTIME):
            item.add_marker(pytest.mark.realtime)
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("engine") if callspec is not None else None
        if engine == "postgres" or "pg_server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if _uses_storage_servers(item):
            item.add_marker(pytest.mark.emulator)


@pytest.fixture(scope="session", autouse=True)
def no_secret_leaks() -> Iterator[None]:
    """The leak test: over the whole session, no response body and no log line contains a
    secret that any test sent (tests/support/leakwatch.py)."""
    # Every line of reckit's own, at every level; warnings and errors of every library.
    root, ours = logging.getLogger(), logging.getLogger("reckit")
    root.addHandler(WATCH)
    previous = ours.level
    ours.setLevel(logging.DEBUG)
    yield
    root.removeHandler(WATCH)
    ours.setLevel(previous)
    assert not WATCH.leaks(), f"secrets leaked: {WATCH.leaks()}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh database for this run; its URL."""
    with new_pg_database() as url:
        yield url


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


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[LiveServer]:
    """reckit in this process, reached through ``http`` (a ``ValidatingClient``) with no
    socket: the fast tier (tests/support/inprocess.py)."""
    with run_in_process(database) as live:
        yield live


@pytest.fixture(scope="session")
def socket_server(database: Database) -> Iterator[LiveServer]:
    """reckit on a port, for clients that open their own connections (schemathesis, the
    recorder, ``httpx.get``)."""
    with run_server(database) as live:
        yield live


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return new_tenant(database)


@pytest.fixture
def http() -> Iterator[ValidatingClient]:
    with ValidatingClient() as client:
        yield client


# -- the storage servers' endpoints (the servers: tests/support/storage_fixtures.py) -------------


@pytest.fixture(scope="session")
def endpoints(moto: str, gcs: str) -> dict[str, str]:
    """``Settings.storage_endpoints`` for moto (aws, digitalocean) and the GCS emulator."""
    return {"aws": moto, "digitalocean": moto, "gcs": gcs}
