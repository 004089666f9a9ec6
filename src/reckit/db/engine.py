"""Database access for both engines: SQLite (embedded default) and PostgreSQL.

SQL is written once with ``?`` placeholders; for PostgreSQL it is rewritten to psycopg's ``%s``.
Repositories receive a ``Tx`` and never commit: whoever opened the transaction owns it.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    # Loaded only for a PostgreSQL URL (Database.__init__): on the embedded default the driver
    # would cost every process about 18 MB for nothing.
    import psycopg
    import psycopg_pool

from reckit.errors import StoreBusy

Dialect = Literal["sqlite", "postgres"]
Row = tuple[Any, ...]
Params = Sequence[Any]


class Tx(Protocol):
    dialect: Dialect
    # The database's URL: what a cache of its data kept across transactions is keyed by.
    store: str
    # In a read-only transaction (its snapshot never changes), what was read once and may be
    # read from here again: ``None`` in a transaction that may write.
    seen: dict[Any, Any] | None

    def all(self, sql: str, params: Params = ()) -> list[Row]: ...
    def one(self, sql: str, params: Params = ()) -> Row | None: ...
    def run(self, sql: str, params: Params = ()) -> int: ...
    def many(self, sql: str, rows: Sequence[Params]) -> None: ...
    def script(self, sql: str) -> None: ...
    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None: ...
    def bulk_load(self) -> contextlib.AbstractContextManager[None]:
        """Engine settings for loading many rows (and building indexes) in this transaction,
        restored when the block ends. Changes nothing about what is stored."""
        ...


# SQLite, while bulk loading: a page cache that holds the whole load (1 GiB at most; pages are
# only taken as needed), so that nothing spills to the WAL mid-load and index builds sort in
# memory; two sorter threads for the index builds; and the file mapped (2 GiB, SQLite's usual
# limit), so that each index build's scan of what spilled reads it in place instead of copying
# it through read() calls (1,000,000 recordings: 9 GB of reads fewer).
_SQLITE_BULK_PRAGMAS = {"cache_size": -1_048_576, "threads": 2, "mmap_size": 1 << 31}
# PostgreSQL, while bulk loading: memory for index builds (sorts in memory, parallel workers).
_PG_BULK_SETTINGS = {"maintenance_work_mem": "512MB"}


@functools.lru_cache(maxsize=512)
def _to_psycopg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class _SqliteTx:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, store: str, *, write: bool) -> None:
        self._c = conn
        self.store = store
        self.seen: dict[Any, Any] | None = None if write else {}

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return self._c.execute(sql, params).fetchall()

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self._c.execute(sql, params).fetchone()
        return row

    def run(self, sql: str, params: Params = ()) -> int:
        return self._c.execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        self._c.executemany(sql, rows)

    def script(self, sql: str) -> None:
        for statement in _statements(sql):
            self._c.execute(statement)

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        marks = ", ".join("?" * len(columns))
        self._c.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        saved = {
            name: self._c.execute(f"PRAGMA {name}").fetchone()[0] for name in _SQLITE_BULK_PRAGMAS
        }
        try:
            for name, value in _SQLITE_BULK_PRAGMAS.items():
                self._c.execute(f"PRAGMA {name}={int(value)}")
            yield
        finally:
            for name, value in saved.items():
                self._c.execute(f"PRAGMA {name}={int(value)}")


class _PgTx:
    dialect: Dialect = "postgres"

    def __init__(self, conn: psycopg.Connection[Row], store: str, *, write: bool) -> None:
        self._c = conn
        self.store = store
        self.seen: dict[Any, Any] | None = None if write else {}

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return self._c.execute(_to_psycopg(sql), params, prepare=True).fetchall()

    def one(self, sql: str, params: Params = ()) -> Row | None:
        return self._c.execute(_to_psycopg(sql), params, prepare=True).fetchone()

    def run(self, sql: str, params: Params = ()) -> int:
        return self._c.execute(_to_psycopg(sql), params).rowcount

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        with self._c.cursor() as cur:
            cur.executemany(_to_psycopg(sql), rows)

    def script(self, sql: str) -> None:
        for statement in _statements(sql):
            self._c.execute(statement.encode())  # bytes: no placeholder parsing in DDL

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        with (
            self._c.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        get, put = "SELECT current_setting(%s)", "SELECT set_config(%s, %s, true)"
        saved = {}
        for name in _PG_BULK_SETTINGS:
            row = self._c.execute(get, (name,)).fetchone()
            saved[name] = str(row[0]) if row else ""
        try:
            for name, value in _PG_BULK_SETTINGS.items():
                self._c.execute(put, (name, value))
            yield
        finally:
            for name, value in saved.items():
                self._c.execute(put, (name, value))


# A write that waited this long for the store before it could begin is the server's stall.
STALL_MS = 1_000


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(exc)


def _statements(sql: str) -> list[str]:
    # Migrations keep one statement per ";\n"; no statement in them contains that sequence.
    return [s.strip() for s in sql.split(";\n") if s.strip()]


# Memory budget. SQLite: one connection per thread that uses the store, each with a page cache
# of at most SQLITE_CACHE_KIB; a server runs its requests' store work on at most
# ``Database.threads`` worker threads (http/app.py bounds the thread pool to it), so requests
# hold at most SQLITE_THREADS x SQLITE_CACHE_KIB (32 MiB), plus one connection per background
# thread. More threads than cores gain nothing here (the queries are short and CPU-bound, and
# the rest of a request holds the GIL) and each costs a connection and its cache: 40 threads
# (anyio's default) grew a serving process past 600 MB under load. PostgreSQL: one thread per
# pooled connection, the pool's connections on the server's side.
SQLITE_THREADS = 4
SQLITE_CACHE_KIB = 8_192  # the OS's page cache holds the rest of the file
PG_POOL_SIZE = 16
POOL_BUSY = (
    "No connection to the store came free in time (all in use, or the store unreachable); "
    "retry shortly"
)


class Database:
    """A connection source for one database, safe to share between threads. ``threads``: how
    many threads should run store work at once (the memory budget above)."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 10_000) -> None:
        """``busy_timeout_ms``: how long a write waits for SQLite's one writer's lock, or any
        transaction for one of PostgreSQL's pooled connections, before it gives up with
        ``StoreBusy`` (a 503 over HTTP)."""
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        # Told how long (ms) every write waited that waited STALL_MS or more before it could
        # begin, or gave up waiting: the server's own trouble (capture/liveness.py).
        self.stall_listeners: list[Callable[[int], None]] = []
        self.dialect: Dialect
        if url.startswith(("postgresql://", "postgres://")):
            import psycopg
            import psycopg_pool

            self.dialect = "postgres"
            self._repeatable_read = psycopg.IsolationLevel.REPEATABLE_READ
            self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Row]] | None = (
                psycopg_pool.ConnectionPool(
                    url,
                    min_size=1,
                    max_size=PG_POOL_SIZE,
                    open=True,
                    kwargs={"autocommit": False},
                    # A request waits for a free connection as long as a SQLite write waits for
                    # the lock, then is refused with a retryable 503.
                    timeout=busy_timeout_ms / 1000,
                )
            )
            self._pool_timeout: type[Exception] = psycopg_pool.PoolTimeout
            self.threads = PG_POOL_SIZE
        elif url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self._pool = None
            self.path = Path(url.removeprefix("sqlite:///"))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.threads = SQLITE_THREADS
            self._local = threading.local()
            self._all_sqlite: list[sqlite3.Connection] = []
            self._lock = threading.Lock()
            # Connections inside a transaction now, and those of them ``close`` left to their
            # thread to close when the transaction ends (closing a connection another thread
            # is using can crash the process).
            self._busy: set[sqlite3.Connection] = set()
            self._orphans: set[sqlite3.Connection] = set()
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # WAL is kept in the file, so this is usually set already. While a bulk load holds
            # the store in rollback mode (load_journal) it cannot be set, and need not be: the
            # load puts WAL back when it ends, and this connection follows the file's mode.
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Each thread has its own connection: keep its page cache small, and leave the rest
            # to the OS page cache (memory-mapped pages would count against the process's RSS).
            conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            self._local.conn = conn
            with self._lock:
                self._all_sqlite.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        """A transaction; ``write=True`` for one that may write. A read transaction sees one
        snapshot from its first statement to its end (a list's total and page agree)."""
        asked = _epoch_ms() if write else 0
        if self._pool is not None:
            with contextlib.ExitStack() as stack:
                try:
                    pg = stack.enter_context(self._pool.connection())
                except BaseException as exc:
                    if write:
                        self._stalled(asked)
                    if isinstance(exc, self._pool_timeout):
                        # Every pooled connection stayed in use for the whole wait: the same
                        # retryable 503 as SQLite's busy store, not a 500.
                        raise StoreBusy(POOL_BUSY) from exc
                    raise
                if write:
                    self._waited(asked)
                # Applied by psycopg to the BEGIN it sends: no extra round trip.
                pg.isolation_level = None if write else self._repeatable_read
                pg.read_only = None if write else True
                with pg.transaction():
                    yield _PgTx(pg, self.url, write=write)
            return
        conn = self._sqlite()
        with self._lock:
            self._busy.add(conn)
        try:
            # A write takes the lock at BEGIN so that two writers never deadlock upgrading.
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.OperationalError as exc:
                if write and _is_busy(exc):
                    self._stalled(asked)
                    raise StoreBusy() from exc  # waited busy_timeout for the write lock
                raise
            if write:
                self._waited(asked)
            try:
                yield _SqliteTx(conn, self.url, write=write)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._release(conn)

    def _release(self, conn: sqlite3.Connection) -> None:
        """The end of a transaction on ``conn``: closed now if ``close`` ran meanwhile."""
        with self._lock:
            self._busy.discard(conn)
            orphaned = conn in self._orphans
            self._orphans.discard(conn)
        if orphaned:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _waited(self, asked_ms: int) -> None:
        if self.stall_listeners and _epoch_ms() - asked_ms >= STALL_MS:
            self._stalled(asked_ms)

    def _stalled(self, asked_ms: int) -> None:
        waited = _epoch_ms() - asked_ms
        for listener in list(self.stall_listeners):
            listener(waited)

    @contextlib.contextmanager
    def load_journal(self) -> Iterator[None]:
        """Around a bulk load's transaction on SQLite: a rollback journal instead of the WAL, so
        that the loaded pages are written once at commit rather than to the WAL and again by
        its checkpoint (1,000,000 recordings: a 14 s commit becomes 3 s). Only while no other
        connection has the database open (a running server keeps the WAL, and so does the
        load); the WAL is back when the block ends.

        Also, on this connection only, foreign keys are not looked up row by row (a third of
        the load's insert time): the loader checks its references in bulk instead, as
        ``seeding.seed`` does. PostgreSQL: nothing changes (a load drops and adds back its
        foreign key: db/schema.py ``drop_recording_indexes``)."""
        if self._pool is not None:
            yield
            return
        conn = self._sqlite()
        conn.execute("PRAGMA busy_timeout=0")  # another connection open: keep WAL, do not wait
        try:
            mode = str(conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]).lower()
        except sqlite3.OperationalError:
            mode = "wal"
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys=OFF")
        try:
            yield
        finally:
            conn.execute("PRAGMA foreign_keys=ON")
            if mode != "wal":
                conn.execute("PRAGMA journal_mode=WAL")

    def vacuum_analyze(self, tables: Sequence[str]) -> None:
        """After a bulk load on PostgreSQL: set the visibility map (so index-only scans stay
        index-only) and refresh statistics. VACUUM cannot run in a transaction. SQLite's bulk
        load already ran ANALYZE; it needs nothing here."""
        if self._pool is None:
            return
        with self._pool.connection() as conn:
            conn.autocommit = True
            try:
                for table in tables:
                    conn.execute(f"VACUUM (ANALYZE) {table}".encode())
            finally:
                conn.autocommit = False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            return
        with self._lock:
            for conn in self._all_sqlite:
                if conn in self._busy:
                    # A thread is inside a transaction on it (a delivery attempt ending at
                    # shutdown, say): that thread closes it when the transaction ends.
                    self._orphans.add(conn)
                    continue
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA optimize")
                    conn.close()
            self._all_sqlite.clear()
        self._local = threading.local()
