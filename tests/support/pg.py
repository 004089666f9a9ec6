"""PostgreSQL for the tests: RECKIT_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) is the server; each run creates its own databases
and drops them at the end. With CI=true a missing server fails the run; elsewhere its tests are
skipped with the reason."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reckit.db.engine import Database
from reckit.db.schema import migrate

PG_ADMIN_URL = os.environ.get(
    "RECKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def pg_available() -> str | None:
    """None if a PostgreSQL server answers, else why not."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}".strip()


@contextlib.contextmanager
def new_pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards; its URL."""
    problem = pg_available()
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
