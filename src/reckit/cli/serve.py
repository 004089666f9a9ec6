"""``reckit serve`` (its first-start bootstrap, the built-in recorder) and ``reckit recorder``."""

from __future__ import annotations

import errno
import fcntl
import functools
import logging
import os
import shlex
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from reckit import logs
from reckit.accounts import repository as accounts_repo
from reckit.accounts.service import create_account
from reckit.apps.service import create_app as create_app_record
from reckit.auth.tokens import create_token
from reckit.capture.tokens import create_recorder_token, revoke_recorder_tokens_named
from reckit.cli.common import (
    data_dir_option,
    err,
    open_store,
    out,
    store_name,
)
from reckit.clock import SystemClock
from reckit.config import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    LogSettings,
    Settings,
    http_url,
)
from reckit.db.engine import Database

if TYPE_CHECKING:
    from reckit.nodes.registry import NodeRegistry
    from reckit.recorder.worker import ReferenceRecorder


@click.command()
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
@click.option(
    "--background/--no-background",
    default=None,
    help="Run the background work (timers, deliveries, webhooks) here; default "
    "RECKIT_BACKGROUND, on.",
)
@click.option(
    "--recorder/--no-recorder",
    "recorder_on",
    default=None,
    help="Run the built-in recorder here; default RECKIT_BUILTIN_RECORDER, on.",
)
@data_dir_option
def serve(
    host: str,
    port: int,
    workers: int,
    access_log: bool,
    log_polls: bool,
    background: bool | None,
    recorder_on: bool | None,
    data_dir: Path | None,
) -> None:
    """Migrate the store and serve the API. On a first start with an empty store, create an
    account, an app and a "Realtime Admin" token, and print them. Ctrl-C or SIGTERM stops it
    (RECKIT_SHUTDOWN_GRACE). Events are logged to standard error, one line each
    (RECKIT_LOG_FORMAT, RECKIT_LOG_LEVEL)."""
    from reckit.http.server import run  # the server stack loads only for this command

    log = _serve_logging(log_polls)
    # Before anything is created: a start that cannot listen must not swallow the first
    # start's credentials.
    _check_can_listen(host, port)
    with open_store(
        data_dir, host=host, port=port, background=background, builtin_recorder=recorder_on
    ) as (settings, db):
        from reckit.delivery.runner import load_node_id, release_own_leases

        node_id = load_node_id(settings.data_dir)
        logs.set_node(node_id)
        if settings.builtin_recorder:
            _check_work_dir_free(settings.data_dir / "capture")
        _bootstrap(settings, db, data_dir)
        _say_where_links_point(settings)
        logging.getLogger("reckit.serve").info(
            "serving the store at %s with %d worker process%s; background work %s; "
            "built-in recorder %s",
            store_name(settings),
            workers,
            "" if workers == 1 else "es",
            "on" if settings.background else "off",
            "on" if settings.builtin_recorder else "off",
        )
        # Before any worker starts: no transfer this node held before it (re)started is alive.
        release_own_leases(db, node_id, SystemClock().now_ms())
        stop = threading.Event()
        builtin = (
            _builtin_recorder(settings, db, stop, node_id) if settings.builtin_recorder else None
        )
        registry = _node_registry(settings, db, node_id, ("api",), builtin)
        # uvicorn stops gracefully on SIGTERM, then raises the signal again once it has put
        # this handler back: the process then exits 0 through the cleanup below (the built-in
        # recorder's captures, the registry) instead of dying of the signal.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        drain = stop_first = None
        if builtin is not None:
            drain = functools.partial(_drain, settings, db, node_id, builtin, stop)
            stop_first = functools.partial(_stop_recorder, builtin, stop, STOP_RECORDER_S)
        try:
            run(
                settings,
                db,
                workers=workers,
                access_log=access_log,
                log_polls=log_polls,
                log=log,
                drain=drain,
                stop_first=stop_first,
            )
        finally:
            stop.set()
            if builtin is not None:
                # Its captures end their segments and stay in the work dir; this node's next
                # start carries them on (recorder/worker.py).
                builtin[0].join(max(1.0, settings.shutdown_grace_s))
            registry.stop()


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


DRAIN_ROUND_S = 0.5


def _drain(
    settings: Settings,
    db: Database,
    node_id: str,
    builtin: tuple[threading.Thread, ReferenceRecorder],
    stop: threading.Event,
) -> None:
    """SIGTERM's first step: the captures handed in, then the built-in recorder stopped while
    the server still answers it. Stopped only after the server, its last poll could go to
    worker processes already gone (``--workers 2``), and the node waited out that poll's
    timeout (30 s) before it exited."""
    _hand_in_captures(settings, db, node_id, builtin[1])
    _stop_recorder(builtin, stop, max(1.0, settings.shutdown_grace_s))


# How long Ctrl-C waits for the built-in recorder to stop before the workers go: its captures
# end their segments and stay in the work dir for the next start.
STOP_RECORDER_S = 10.0


def _stop_recorder(
    builtin: tuple[threading.Thread, ReferenceRecorder], stop: threading.Event, wait_s: float
) -> None:
    stop.set()
    builtin[0].join(wait_s)


def _hand_in_captures(
    settings: Settings, db: Database, node_id: str, recorder: ReferenceRecorder
) -> None:
    """What SIGTERM does first, while the server still serves: the built-in recorder claims
    nothing more, and every recording it captures is stopped as its recorder stopping it
    would (RECORDING or PAUSED → UPLOADING, capture/service.py ``stopped``); the recorder
    then finalises each file and hands it in over the recorder API, as on any stop. Waits
    for that up to RECKIT_SHUTDOWN_GRACE; what is not handed in by then stays in the work dir
    for this node's next start."""
    from reckit.capture import service as capture
    from reckit.recordings import live_repository as live

    log = logging.getLogger("reckit.serve")
    name = builtin_recorder_name(node_id)
    recorder.capacity = 0  # its polls claim nothing more
    clock = SystemClock()
    deadline = time.monotonic() + max(0.0, settings.shutdown_grace_s)
    told: set[str] = set()
    while True:
        with db.transaction(write=True) as tx:
            for rec in live.held_by(tx, name):
                if rec.status in ("RECORDING", "PAUSED") and rec.id not in told:
                    told.add(rec.id)
                    log.info(
                        "SIGTERM: recording %s is stopped and handed in",
                        rec.id,
                        extra={"recording_id": rec.id},
                    )
                    capture.stopped(tx, clock.now_ms(), name, rec.id, "node shutting down", False)
        busy = [rid for rid, job in list(recorder.jobs.items()) if not job.done.is_set()]
        if not busy:
            return
        if time.monotonic() >= deadline:
            log.warning(
                "SIGTERM: %d recording(s) not handed in within RECKIT_SHUTDOWN_GRACE; "
                "their captures stay for this node's next start",
                len(busy),
            )
            return
        time.sleep(DRAIN_ROUND_S)


def _node_registry(
    settings: Settings,
    db: Database,
    node_id: str,
    roles: tuple[str, ...],
    builtin: tuple[threading.Thread, ReferenceRecorder] | None,
) -> NodeRegistry:
    """This node in the store's registry (``reckit nodes``), kept fresh until it stops."""
    from reckit.nodes.registry import NodeRegistry

    recorder = builtin[1] if builtin is not None else None

    def in_use() -> int:
        if recorder is None:
            return 0
        return sum(1 for job in list(recorder.jobs.values()) if not job.done.is_set())

    if settings.background:
        roles = (*roles, "background")
    if recorder is not None:
        roles = (*roles, "recorder")
    registry = NodeRegistry(
        db,
        SystemClock(),
        node_id,
        roles,
        url=settings.base_url if "api" in roles else None,
        recorder_capacity=settings.recorder_capacity if recorder is not None else 0,
        in_use=in_use,
    )
    registry.start()
    return registry


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
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
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
    return (
        f"another recorder is running on the capture directory {work_dir} (another "
        "`reckit serve` on this data dir?). Stop it first, or set RECKIT_BUILTIN_RECORDER=0 "
        "to serve without the built-in recorder."
    )


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
        out.print(
            f"Download links: presigned by the bucket {settings.bucket_url}",
            highlight=False,
            soft_wrap=True,
        )
        return
    out.print(
        f"Download links: {settings.base_url}/dl/… (RECKIT_PUBLIC_URL sets another base)",
        highlight=False,
        soft_wrap=True,
    )
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


def builtin_recorder_name(node_id: str) -> str:
    """The built-in recorder's name (its identity to the server): one per node, the same at
    every start of that node."""
    return f"builtin-{node_id}"


def _builtin_recorder(
    settings: Settings, db: Database, stop: threading.Event, node_id: str
) -> tuple[threading.Thread, ReferenceRecorder]:
    """The reference recorder, in this process, over the recorder API on loopback. Its token is
    made anew at each start (the previous one revoked); its name stays this node's
    (``builtin_recorder_name``), so a restart tells the server at once which recordings the old
    process was holding, and nodes sharing a store never take each other's."""
    from reckit.recorder.client import RecorderClient
    from reckit.recorder.worker import ReferenceRecorder, WorkDirBusy

    name = builtin_recorder_name(node_id)
    with db.transaction(write=True) as tx:
        revoke_recorder_tokens_named(tx, SystemClock(), name)
        token, _ = create_recorder_token(tx, SystemClock(), name)
    client = RecorderClient(settings.local_url, token)
    work_dir = settings.data_dir / "capture"
    recorder = ReferenceRecorder(client, work_dir, settings.recorder_capacity)

    def run() -> None:
        try:
            recorder.run(stop)
        except WorkDirBusy:  # taken since serve checked: say so, without a traceback
            err.print(
                f"[red]The built-in recorder did not start[/red]: "
                f"{_work_dir_busy_message(work_dir)}",
                highlight=False,
            )

    thread = threading.Thread(target=run, name="recorder", daemon=True)
    thread.start()
    return thread, recorder


@click.command(name="recorder")
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
    out.print(
        f"  account_id  {account_id}\n  app_id      {app.id}\n  token       {token}",
        highlight=False,
    )
    out.print(
        f"`reckit accounts list{dd}` and `reckit apps list{dd}` show the IDs again. The "
        f"token is shown only now: `reckit tokens create --account {account_id}{dd}` "
        "makes another. Try:\n",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f"  curl -H 'Authorization: Bearer {token}' \\\n"
        f"    {base}/accounts/{account_id}/realtime/kit/{app.id}/recordings\n",
        soft_wrap=True,
        highlight=False,
    )
