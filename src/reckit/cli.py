"""``reckit``: a thin shell over the same services the HTTP API uses."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.table import Table

from reckit import cli_client, logs
from reckit.accounts import repository as accounts_repo
from reckit.accounts.service import create_account
from reckit.apps import repository as apps_repo
from reckit.apps.service import create_app as create_app_record
from reckit.auth.tokens import PERMISSIONS, create_token, list_tokens, revoke_token
from reckit.capture.tokens import create_recorder_token, revoke_recorder_tokens_named
from reckit.clock import SystemClock
from reckit.config import (
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    LogSettings,
    Settings,
    http_url,
)
from reckit.crypto import load_master_key
from reckit.db import schema
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.errors import NotFound, ReckitError
from reckit.timestamps import format_ms

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


WHICH_STORE = ("Pass the server's --data-dir (or RECKIT_DATA_DIR), or RECKIT_DATABASE_URL for "
               "a PostgreSQL store.")  # fmt: skip


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _store_name(settings: Settings) -> str:
    """Where the store is, for people: the SQLite file, or PostgreSQL's host and database
    (never its password)."""
    url = settings.resolved_database_url
    path = _sqlite_path(url)
    if path is not None:
        return str(path)
    where = url.split("@")[-1] if "@" in url else url.split("://", 1)[-1]
    return f"PostgreSQL {where.split('?')[0]}"


@contextlib.contextmanager
def _open(
    data_dir: Path | None, *, create: bool = True, **overrides: object
) -> Iterator[tuple[Settings, Database]]:
    """The store, migrated. ``create=False``: a command that needs what is in a store already
    (a list, an account or app it names) says where it looked instead of making an empty SQLite
    store there. A PostgreSQL database is used as named (the server makes its tables the same
    way)."""
    settings = Settings.from_env(data_dir=data_dir, **overrides)
    path = _sqlite_path(settings.resolved_database_url)
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
        yield settings, db
    except NotFound as exc:
        # What the command line named is not in this store: perhaps not the server's store.
        raise click.ClickException(
            f"{exc.message} in the store at {_store_name(settings)}. {WHICH_STORE}"
        ) from None
    except ReckitError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()


def _emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    if as_json:
        click.echo(orjson.dumps(data).decode())
    else:
        out.print(human)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reckit")
def main() -> None:
    """reckit: a self-hosted service that speaks Cloudflare RealtimeKit's Recordings API.

    Start with `reckit serve`; it prints a token and a curl command to try.
    """


@main.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes; each serves requests on its own core.",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option(
    "--log-polls",
    is_flag=True,
    help="Keep the recorders' polls (POST /recorder/v1/poll, twice a second each) in the "
    "access log; left out by default.",
)
@data_dir_option
def serve(host: str, port: int, workers: int, access_log: bool, log_polls: bool,
          data_dir: Path | None) -> None:  # fmt: skip
    """Migrate the store and serve the API. On a first start with an empty store, create an
    account, an app and a "Realtime Admin" token, and print them. Ctrl-C stops it. Events are
    logged to standard error, one line each (RECKIT_LOG_FORMAT, RECKIT_LOG_LEVEL)."""
    from reckit.http.server import run  # the server stack loads only for this command

    log = _serve_logging(log_polls)
    # Before anything is created: a start that cannot listen must not swallow the first
    # start's credentials.
    _check_can_listen(host, port)
    with _open(data_dir, host=host, port=port) as (settings, db):
        if settings.builtin_recorder:
            _check_work_dir_free(settings.data_dir / "capture")
        _bootstrap(settings, db, data_dir)
        _say_where_links_point(settings)
        logging.getLogger("reckit.serve").info(
            "serving the store at %s with %d worker process%s; built-in recorder %s",
            _store_name(settings), workers, "" if workers == 1 else "es",
            "on" if settings.builtin_recorder else "off")  # fmt: skip
        # Before any worker starts: no transfer this node held before it (re)started is alive.
        from reckit.delivery.runner import load_node_id, release_own_leases

        release_own_leases(db, load_node_id(settings.data_dir), SystemClock().now_ms())
        stop = threading.Event()
        recorder = _builtin_recorder(settings, db, stop) if settings.builtin_recorder else None
        try:
            run(settings, db, workers=workers, access_log=access_log, log_polls=log_polls,
                log=log)  # fmt: skip
        finally:
            stop.set()
            if recorder is not None:
                recorder.join(15)


def _serve_logging(log_polls: bool) -> LogSettings:
    """Log as the server will (reckit/logs.py) from the start: what happens before uvicorn
    takes over (released leases, the built-in recorder) is logged the same way."""
    from reckit.http.server import log_config

    try:
        log = LogSettings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    logs.configure(log_config(log_polls, log))
    return log


def _check_can_listen(host: str, port: int) -> None:
    """Refuse at once, with a plain message, an address the server could not listen on because
    something listens there already (or the port is privileged). Other failures are left to
    the server to report."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)  # fmt: skip
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host!r}: {exc.strerror}") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            # As the server's own socket: a port left in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise click.ClickException(
                        f"cannot listen on {http_url(host, port)}: the port is in use "
                        "(another reckit serve?). Stop it, or pick another --port."
                    ) from None
                if exc.errno == errno.EACCES:
                    raise click.ClickException(
                        f"cannot listen on {http_url(host, port)}: permission denied "
                        "(a port below 1024 needs privileges). Pick another --port."
                    ) from None


def _work_dir_busy_message(work_dir: Path) -> str:
    return (f"another recorder is running on the capture directory {work_dir} (another "
            "`reckit serve` on this data dir?). Stop it first, or set RECKIT_BUILTIN_RECORDER=0 "
            "to serve without the built-in recorder.")  # fmt: skip


def _check_work_dir_free(work_dir: Path) -> None:
    """The built-in recorder's work dir is not another recorder's: the lock it takes
    (recorder/worker.py, ``_claim_work_dir``: flock on the directory), tried and let go. Only
    if the directory exists: a recorder that holds it made it."""
    if not work_dir.is_dir():
        return
    fd = os.open(work_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise click.ClickException(_work_dir_busy_message(work_dir)) from None
    finally:
        os.close(fd)  # closing the descriptor lets the lock go


def _say_where_links_point(settings: Settings) -> None:
    """How download links will be signed, plainly: a wrong public address makes every link
    fail for clients, long after the start."""
    if settings.bucket_url:
        out.print(f"Download links: presigned by the bucket {settings.bucket_url}",
                  highlight=False, soft_wrap=True)  # fmt: skip
        return
    out.print(f"Download links: {settings.base_url}/dl/… (RECKIT_PUBLIC_URL sets another base)",
              highlight=False, soft_wrap=True)  # fmt: skip
    if settings.signs_for_wildcard:
        hostname = socket.gethostname()
        out.print(
            f"[yellow]Note:[/yellow] --host {settings.host or repr('')} listens on every "
            f"interface, but links name {settings.base_url}, which only this machine reaches. "
            "Set RECKIT_PUBLIC_URL to the address clients use "
            f"(e.g. {http_url(hostname, settings.port)}).",
            highlight=False,
            soft_wrap=True,
        )


def _builtin_recorder(settings: Settings, db: Database, stop: threading.Event) -> threading.Thread:
    """The reference recorder, in this process, over the recorder API on loopback. Its token is
    made anew at each start (the previous one revoked); its name stays "builtin", so a restart
    tells the server at once which recordings the old process was holding."""
    from reckit.recorder.client import RecorderClient
    from reckit.recorder.worker import ReferenceRecorder, WorkDirBusy

    with db.transaction(write=True) as tx:
        revoke_recorder_tokens_named(tx, SystemClock(), "builtin")
        token, _ = create_recorder_token(tx, SystemClock(), "builtin")
    client = RecorderClient(settings.local_url, token)
    work_dir = settings.data_dir / "capture"
    recorder = ReferenceRecorder(client, work_dir, settings.recorder_capacity)

    def run() -> None:
        try:
            recorder.run(stop)
        except WorkDirBusy:  # taken since serve checked: say so, without a traceback
            err.print(f"[red]The built-in recorder did not start[/red]: "
                      f"{_work_dir_busy_message(work_dir)}", highlight=False)  # fmt: skip

    thread = threading.Thread(target=run, name="recorder", daemon=True)
    thread.start()
    return thread


@main.command(name="recorder")
@click.option(
    "--server",
    "server_url",
    envvar="RECKIT_SERVER",
    default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    show_default=True,
    help="Base URL of the reckit server.",
)
@click.option(
    "--token",
    envvar="RECKIT_RECORDER_TOKEN",
    required=True,
    help="A recorder token (`reckit recorder-tokens create`).",
)
@click.option(
    "--capacity",
    default=4,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Recordings captured at once.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reckit-capture"),
    show_default=True,
    help="Where captures are written until they are handed in.",
)
def recorder_cmd(server_url: str, token: str, capacity: int, work_dir: Path) -> None:
    """Run the reference recorder against a reckit server: it claims recordings, captures them
    with FFmpeg (the session's media source, or a synthetic test pattern and tone when the
    meeting has no media plane) and uploads the files. Ctrl-C stops it."""
    import logging

    from reckit.recorder.client import RecorderClient
    from reckit.recorder.worker import ReferenceRecorder, WorkDirBusy

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    client = RecorderClient(server_url, token)
    try:
        ReferenceRecorder(client, work_dir, capacity).run_until_interrupted(stop)
    except WorkDirBusy:
        raise click.ClickException(
            f"another recorder is running on the work dir {work_dir}: stop it first, or give "
            "this one its own --work-dir."
        ) from None
    finally:
        client.close()


@main.group(name="recorder-tokens")
def recorder_tokens() -> None:
    """Tokens for recorders and media planes (the recorder API, docs/recorder-api.md)."""


@recorder_tokens.command(name="create")
@click.option("--name", required=True, help="Which recorder holds it (one name per recorder).")
@json_option
@data_dir_option
def recorder_tokens_create(name: str, as_json: bool, data_dir: Path | None) -> None:
    """Create a recorder token. It is shown once."""
    with _open(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        token, token_id = create_recorder_token(tx, SystemClock(), name)
    _emit(as_json, {"token": token, "token_id": token_id},
          f"Recorder token {token_id} for {name}:\n  {token}\n(shown once)")  # fmt: skip


def _bootstrap(settings: Settings, db: Database, data_dir: Path | None) -> None:
    with db.transaction() as tx:
        if accounts_repo.count(tx) > 0:
            return
    clock = SystemClock()
    with db.transaction(write=True) as tx:
        account_id = create_account(tx, clock, "default")
        app = create_app_record(tx, clock, account_id, "default")
        token, _ = create_token(tx, clock, account_id, "Realtime Admin", "bootstrap")
    base = f"{settings.base_url}/client/v4"
    dd = "" if data_dir is None else f" --data-dir {shlex.quote(str(data_dir))}"
    out.print("[bold]First start: created an account, an app and an API token.[/bold]")
    out.print(f"  account_id  {account_id}\n  app_id      {app.id}\n  token       {token}",
              highlight=False)  # fmt: skip
    out.print(f"`reckit accounts list{dd}` and `reckit apps list{dd}` show the IDs again. The "
              f"token is shown only now: `reckit tokens create --account {account_id}{dd}` "
              "makes another. Try:\n", highlight=False, soft_wrap=True)  # fmt: skip
    out.print(
        f"  curl -H 'Authorization: Bearer {token}' \\\n"
        f"    {base}/accounts/{account_id}/realtime/kit/{app.id}/recordings\n",
        soft_wrap=True,
        highlight=False,
    )


@main.command(name="migrate")
@data_dir_option
def migrate_cmd(data_dir: Path | None) -> None:
    """Create or upgrade the store's schema, then exit."""
    with _open(data_dir) as (settings, _):
        out.print(f"Store is up to date: {settings.resolved_database_url.split('@')[-1]}")


@main.group()
def accounts() -> None:
    """Accounts own apps and tokens."""


@accounts.command(name="create")
@click.option("--name", required=True, help="A name for people.")
@json_option
@data_dir_option
def accounts_create(name: str, as_json: bool, data_dir: Path | None) -> None:
    """Create an account."""
    with _open(data_dir) as (_, db), db.transaction(write=True) as tx:
        account_id = create_account(tx, SystemClock(), name)
    _emit(as_json, {"account_id": account_id}, f"Created account {account_id}")


def _columns(rows: list[list[str]]) -> str:
    """A plain table, every cell whole (IDs are never cut, whatever the terminal's width)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)  # fmt: skip


def _print_list(as_json: bool, items: list[dict[str, Any]], what: str, where: str) -> None:
    if as_json:
        click.echo(orjson.dumps(items).decode())
    elif not items:
        err.print(f"No {what} in the store at {where}.", highlight=False)
    else:
        header = list(items[0])
        click.echo(_columns([header, *([str(item[k]) for k in header] for item in items)]))


@accounts.command(name="list")
@json_option
@data_dir_option
def accounts_list(as_json: bool, data_dir: Path | None) -> None:
    """List accounts, oldest first (the first start's is named "default")."""
    with _open(data_dir, create=False) as (settings, db), db.transaction() as tx:
        rows = accounts_repo.list_all(tx)
    items = [{"account_id": a, "name": name, "created_at": format_ms(created)}
             for a, name, created in rows]  # fmt: skip
    _print_list(as_json, items, "accounts", _store_name(settings))


@main.group()
def apps() -> None:
    """Apps hold meetings and recordings."""


@apps.command(name="create")
@click.option("--account", "account_id", required=True, help="The owning account's ID.")
@click.option("--name", required=True, help="A name for people.")
@json_option
@data_dir_option
def apps_create(account_id: str, name: str, as_json: bool, data_dir: Path | None) -> None:
    """Create an app in an account."""
    with _open(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        app = create_app_record(tx, SystemClock(), account_id, name)
    _emit(as_json, {"app_id": app.id}, f"Created app {app.id} in account {account_id}")


APPS_PAGE = 1000


@apps.command(name="list")
@click.option("--account", "account_id", default=None, help="Only this account's apps.")
@json_option
@data_dir_option
def apps_list(account_id: str | None, as_json: bool, data_dir: Path | None) -> None:
    """List apps, by account, oldest first."""
    items: list[dict[str, Any]] = []
    with _open(data_dir, create=False) as (settings, db), db.transaction() as tx:
        if account_id is not None and not accounts_repo.exists(tx, account_id):
            raise NotFound(f"Account {account_id} not found")
        owners = [account_id] if account_id else [a for a, _, _ in accounts_repo.list_all(tx)]
        for owner in owners:
            offset, rows = 0, None
            while rows is None or len(rows) == APPS_PAGE:
                _, rows = apps_repo.list_page(tx, owner, None, False, APPS_PAGE, offset)
                offset += len(rows)
                items += [{"app_id": str(r[0]), "account_id": owner, "name": str(r[1]),
                           "created_at": format_ms(int(r[2]))} for r in rows]  # fmt: skip
    _print_list(as_json, items, "apps", _store_name(settings))


@main.group()
def tokens() -> None:
    """API tokens: create, list, revoke."""


@tokens.command(name="create")
@click.option("--account", "account_id", required=True, help="The account the token acts for.")
@click.option(
    "--permission", type=click.Choice(PERMISSIONS), default="Realtime Admin", show_default=True
)
@click.option("--name", default="", help="A label to recognise it by in `tokens list`.")
@json_option
@data_dir_option
def tokens_create(
    account_id: str, permission: str, name: str, as_json: bool, data_dir: Path | None
) -> None:
    """Create a token. It is printed once and stored only as a hash."""
    with _open(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        token, token_id = create_token(tx, SystemClock(), account_id, permission, name)
    _emit(
        as_json,
        {"token": token, "token_id": token_id},
        f"Token {token_id} ({permission}) for account {account_id}:\n{token}\n"
        "Keep it now: it cannot be shown again.",
    )


@tokens.command(name="list")
@click.option("--account", "account_id", default=None, help="Only this account's tokens.")
@json_option
@data_dir_option
def tokens_list(account_id: str | None, as_json: bool, data_dir: Path | None) -> None:
    """List tokens (never their values)."""
    with _open(data_dir, create=False) as (_, db), db.transaction() as tx:
        if account_id is not None and not accounts_repo.exists(tx, account_id):
            raise NotFound(f"Account {account_id} not found")
        infos = list_tokens(tx, account_id)
    if as_json:
        click.echo(orjson.dumps([
            {"token_id": t.id, "account_id": t.account_id, "permission": t.permission,
             "name": t.name, "created_at": format_ms(t.created_at),
             "revoked_at": None if t.revoked_at is None else format_ms(t.revoked_at)}
            for t in infos
        ]).decode())  # fmt: skip
        return
    table = Table("token_id", "account_id", "permission", "name", "created", "state")
    for t in infos:
        state = "revoked" if t.revoked_at is not None else "active"
        table.add_row(t.id, t.account_id, t.permission, t.name, format_ms(t.created_at), state)
    out.print(table)


@tokens.command(name="revoke")
@click.argument("token_id")
@data_dir_option
def tokens_revoke(token_id: str, data_dir: Path | None) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    with _open(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        changed = revoke_token(tx, SystemClock(), token_id)
    out.print(f"Revoked token {token_id}" if changed else f"Token {token_id} was already revoked")


@main.command()
@click.option("--app", "app_id", required=True, help="The app to fill.")
@click.option(
    "--recordings", "n_recordings", required=True, type=click.IntRange(1), help="How many."
)
@click.option(
    "--meetings",
    "n_meetings",
    type=click.IntRange(1),
    default=None,
    help="Across how many meetings (default: one per 8 recordings).",
)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=1,
    show_default=True,
    help="Random seed: the same seed gives the same data.",
)
@click.option(
    "--public-url",
    default=None,
    help="The server's public URL, for the seeded download links (default: RECKIT_PUBLIC_URL, "
    "else this host and port).",
)
@data_dir_option
def seed(app_id: str, n_recordings: int, n_meetings: int | None, seed_value: int,
         public_url: str | None, data_dir: Path | None) -> None:  # fmt: skip
    """Fill an app with realistic synthetic meetings and recordings."""
    from rich.progress import MofNCompleteColumn, Progress, TimeElapsedColumn

    from reckit import seeding

    with _open(data_dir, create=False) as (settings, db):
        with db.transaction() as tx:
            if apps_repo.owner_and_version(tx, app_id) is None:
                raise NotFound(f"App {app_id} not found")
        plan = seeding.SeedPlan(
            app_id=app_id,
            recordings=n_recordings,
            meetings=n_meetings or max(1, n_recordings // 8),
            seed=seed_value,
            now_ms=SystemClock().now_ms(),
            public_url=public_url or settings.base_url,
            master_key=load_master_key(settings.data_dir, settings.secret_key),
        )
        started = time.monotonic()
        columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
        with Progress(*columns, console=err, transient=False) as progress, \
                db.load_journal(), db.transaction(write=True) as tx:  # fmt: skip
            task = progress.add_task("Seeding recordings", total=n_recordings)
            seeding.seed(tx, plan, lambda n: progress.advance(task, n))
            progress.update(task, description="Committing")
        db.vacuum_analyze(schema.COUNTED_TABLES)
        elapsed = time.monotonic() - started
        err.print(
            f"Seeded {n_recordings:,} recordings in {plan.meetings:,} meetings "
            f"in {elapsed:.1f} s ({n_recordings / elapsed:,.0f}/s)"
        )


@main.group()
def storage() -> None:
    """Customer storage (wire-spec §2.4)."""


@storage.command(name="check")
@click.option(
    "--config",
    "config_file",
    type=click.File("rb"),
    required=True,
    help="A JSON storage config, as in a start request's storage_config (secrets "
    "included); '-' reads it from standard input, which keeps secrets out of `ps`.",
)
@click.option(
    "--endpoint",
    default=None,
    help="The storage API's URL, when it is not the "
    "vendor's public one (an S3-compatible server, an emulator).",
)
def storage_check(config_file: Any, endpoint: str | None) -> None:
    """Round-trip a small object through a storage config: put, read back, compare, delete."""
    from reckit.bodies import decode
    from reckit.recording_options import StorageConfig, check_storage
    from reckit.storage.base import StorageError
    from reckit.storage.check import round_trip

    try:
        parsed = decode(config_file.read(), StorageConfig)
        check_storage(parsed)
    except ReckitError as exc:
        raise click.ClickException(exc.message) from None
    config = msgspec_to_dict(parsed)
    endpoints = {config["type"]: endpoint} if endpoint else None
    try:
        key = round_trip(config, endpoints)
    except StorageError as exc:
        raise click.ClickException(f"storage check failed: {exc}") from None
    where = config.get("bucket") or config.get("host")
    out.print(f"[green]OK[/green]: wrote, read back and deleted {key} in {config['type']} {where}")


def msgspec_to_dict(value: object) -> dict[str, Any]:
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(value)
    return data


@cli_client.webhooks.command(name="rotate-key")
@json_option
@data_dir_option
def webhooks_rotate_key(as_json: bool, data_dir: Path | None) -> None:
    """Replace the webhook signing key in the store (every node signs with it from its next
    delivery on; receivers fetch the new public key from /.well-known/webhooks.json). Deliveries
    already queued keep the signature they were made with."""
    from reckit.webhooks.service import rotate_key

    with _open(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        public = rotate_key(tx, SystemClock().now_ms())
    _emit(as_json, {"publicKey": public}, f"New webhook signing key; its public key:\n{public}")


main.add_command(cli_client.meetings)
main.add_command(cli_client.recordings)
main.add_command(cli_client.webhooks)

if __name__ == "__main__":
    main()
