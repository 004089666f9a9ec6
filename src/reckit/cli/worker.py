"""``reckit worker`` (the background work without HTTP) and ``reckit nodes`` (the registry)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

import click

from reckit import logs
from reckit.cli.common import data_dir_option, json_option, open_store, print_list, store_name
from reckit.clock import SystemClock


@click.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Run the background work (the lifecycle's timers and retention, transfers to customers'
    storage, webhook deliveries, the bucket's tidying) without serving HTTP, beside nodes that
    run `reckit serve --no-background`. Give each node a data dir of its own (its node ID,
    node.id, owns its leases). SIGTERM or Ctrl-C stops it (RECKIT_SHUTDOWN_GRACE)."""
    from reckit.background import Background
    from reckit.cli.serve import _serve_logging
    from reckit.delivery.runner import load_node_id, release_own_leases
    from reckit.http.context import build_context
    from reckit.nodes.registry import NodeRegistry

    _serve_logging(log_polls=False)
    with open_store(data_dir, background=True, builtin_recorder=False) as (settings, db):
        node_id = load_node_id(settings.data_dir)
        logs.set_node(node_id)
        clock = SystemClock()
        release_own_leases(db, node_id, clock.now_ms())
        registry = NodeRegistry(db, clock, node_id, ("background",))
        registry.start()
        click.echo(
            f"reckit worker {node_id}: background work on the store at {store_name(settings)}",
            err=True,
        )
        if not settings.bucket_url:
            logging.getLogger("reckit.serve").warning(
                "no RECKIT_BUCKET_URL: this worker's bucket is its own data dir, where no "
                "other node puts recordings; deliveries and retention need the shared bucket"
            )
        ctx = build_context(settings, db, clock)

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            background = Background(ctx)
            background.start()
            try:
                await stop.wait()
            finally:
                await background.stop()

        try:
            asyncio.run(run())
        finally:
            registry.stop()


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Also the nodes that stopped or are gone.")
@json_option
@data_dir_option
def nodes(show_all: bool, as_json: bool, data_dir: Path | None) -> None:
    """The nodes sharing this store: roles, built-in recorder slots in use, last heartbeat."""
    from reckit.nodes import repository as registry
    from reckit.nodes.waiting import capacity, state_of
    from reckit.ops import repository as ops

    with open_store(data_dir, create=False) as (settings, db):
        with db.transaction() as tx:
            known = registry.all_nodes(tx)
            waiting, oldest = ops.waiting_for_a_recorder(tx)
        now = SystemClock().now_ms()
        items = []
        for n in known:
            state = state_of(n, now)
            if state != "up" and not show_all:
                continue
            heartbeat = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(n.heartbeat_at / 1000))
            items.append(
                {
                    "node": n.id,
                    "state": state,
                    "host": n.hostname,
                    "pid": n.pid,
                    "roles": ",".join(n.roles),
                    "recorder": f"{n.recorder_in_use}/{n.recorder_capacity}"
                    if "recorder" in n.roles
                    else "-",
                    "url": n.url or "-",
                    "heartbeat": heartbeat,
                    "seconds_ago": max(0, (now - n.heartbeat_at) // 1000),
                }
            )
        what = "nodes" if show_all else "live nodes (--all shows the others)"
        print_list(as_json, items, what, store_name(settings))
        if waiting and not as_json:
            # Why a recording waits: every live recorder busy, or none running.
            free = capacity(known, now).free
            age = max(0, (now - (oldest or now)) // 1000)
            why = (
                "no built-in recorder has a free slot"
                if free == 0
                else f"{free} built-in recorder slot(s) free: a recorder should claim them soon"
            )
            click.echo(
                f"{waiting} recording(s) wait for a recorder (the oldest for {age} s): {why}; "
                "recorders of your own (`reckit recorder`) are not listed here.",
                err=True,
            )
