"""Closing a SQLite store while another thread is inside a transaction on it: that thread's
transaction runs to its end (closing a connection in use from another thread can crash the
process), and its connection is closed then."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from reckit.db.engine import Database
from reckit.db.schema import migrate


def test_close_leaves_a_transaction_under_way_to_its_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'close.sqlite3'}")
    migrate(db)
    inside, closed = threading.Event(), threading.Event()
    seen: list[object] = []
    kept: list[sqlite3.Connection] = []

    def work() -> None:
        with db.transaction(write=True) as tx:
            kept.append(db._sqlite())
            inside.set()
            closed.wait(10)
            # Still usable: the transaction under way is this thread's to finish.
            tx.run("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'x', 1)")
            seen.append(tx.one("SELECT count(*) FROM accounts"))

    thread = threading.Thread(target=work)
    thread.start()
    assert inside.wait(10)
    db.close()
    closed.set()
    thread.join(10)
    assert seen == [(1,)]
    with pytest.raises(sqlite3.ProgrammingError):  # closed by its thread at the end
        kept[0].execute("SELECT 1")
    again = Database(db.url)
    try:
        with again.transaction() as tx:
            assert tx.one("SELECT count(*) FROM accounts") == (1,)
    finally:
        again.close()
