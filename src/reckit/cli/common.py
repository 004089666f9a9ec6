"""What every store command shares: options, opening the store, printing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console

from reckit.config import (
    DEFAULT_DATA_DIR,
    Settings,
)
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.errors import NotFound, ReckitError
from reckit.meetings import repository as meetings
from reckit.recordings import repository as recordings

F = TypeVar("F", bound=Callable[..., Any])
out = Console()
err = Console(stderr=True)


def data_dir_option(f: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="RECKIT_DATA_DIR",
        help=f"Where reckit keeps its data (default ./{DEFAULT_DATA_DIR}). "
        "RECKIT_DATABASE_URL, when set, selects the database instead.",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


WHICH_STORE = (
    "Pass the server's --data-dir (or RECKIT_DATA_DIR), or RECKIT_DATABASE_URL for "
    "a PostgreSQL store."
)


def sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def store_name(settings: Settings) -> str:
    """Where the store is, for people: the SQLite file, or PostgreSQL's host and database
    (never its password)."""
    url = settings.resolved_database_url
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    where = url.split("@")[-1] if "@" in url else url.split("://", 1)[-1]
    return f"PostgreSQL {where.split('?')[0]}"


@contextlib.contextmanager
def open_store(
    data_dir: Path | None, *, create: bool = True, **overrides: object
) -> Iterator[tuple[Settings, Database]]:
    """The store, migrated. ``create=False``: a command that needs what is in a store already
    (a list, an account or app it names) says where it looked instead of making an empty SQLite
    store there. A PostgreSQL database is used as named (the server makes its tables the same
    way)."""
    settings = Settings.from_env(data_dir=data_dir, **overrides)
    path = sqlite_path(settings.resolved_database_url)
    if not create and path is not None and not path.exists():
        if settings.database_url:
            why = " (RECKIT_DATABASE_URL)"
        else:
            why = "" if data_dir is not None else f" (--data-dir defaults to ./{DEFAULT_DATA_DIR})"
        raise click.ClickException(f"No reckit store at {path}{why}. {WHICH_STORE}")
    try:
        db = Database(settings.resolved_database_url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        migrate(db)
        fill_listings(db)
        yield settings, db
    except NotFound as exc:
        # What the command line named is not in this store: perhaps not the server's store.
        raise click.ClickException(
            f"{exc.message} in the store at {store_name(settings)}. {WHICH_STORE}"
        ) from None
    except ReckitError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()


_FILL_BATCH = 5_000


def fill_listings(db: Database, batch: int = _FILL_BATCH) -> None:
    """Store the list item of every recording and meeting without one (migration 14: written
    before it, or by a node that predates it), ``batch`` rows per transaction, with a progress
    bar. Nothing to do (the usual case) costs two lookups in partial indexes."""
    with db.transaction() as tx:
        todo = recordings.unlisted(tx) + meetings.unlisted(tx)
    if todo == 0:
        return
    from rich.progress import MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeElapsedColumn())
    # A few rows (left by a node that predates the items) are filled without a word.
    with Progress(*columns, console=err, transient=False, disable=todo < _FILL_BATCH) as progress:
        task = progress.add_task("Storing list items (once, after an upgrade)", total=todo)
        for fill in (meetings.fill_listings, recordings.fill_listings):
            while True:
                with db.transaction(write=True) as tx:
                    done = fill(tx, batch)
                if done == 0:
                    break
                progress.advance(task, done)


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    if as_json:
        click.echo(orjson.dumps(data).decode())
    else:
        out.print(human)


def columns(rows: list[list[str]]) -> str:
    """A plain table, every cell whole (IDs are never cut, whatever the terminal's width)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def print_list(as_json: bool, items: list[dict[str, Any]], what: str, where: str) -> None:
    if as_json:
        click.echo(orjson.dumps(items).decode())
    elif not items:
        err.print(f"No {what} in the store at {where}.", highlight=False)
    else:
        header = list(items[0])
        click.echo(columns([header, *([str(item[k]) for k in header] for item in items)]))
