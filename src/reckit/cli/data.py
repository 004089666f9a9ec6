"""Synthetic data (``reckit seed``) and customer storage (``reckit storage check``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from reckit.apps import repository as apps_repo
from reckit.cli.common import (
    data_dir_option,
    err,
    open_store,
    out,
)
from reckit.clock import SystemClock
from reckit.crypto import load_master_key
from reckit.db import schema
from reckit.errors import NotFound, ReckitError


@click.command()
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
def seed(
    app_id: str,
    n_recordings: int,
    n_meetings: int | None,
    seed_value: int,
    public_url: str | None,
    data_dir: Path | None,
) -> None:
    """Fill an app with realistic synthetic meetings and recordings."""
    from rich.progress import MofNCompleteColumn, Progress, TimeElapsedColumn

    from reckit import seeding

    with open_store(data_dir, create=False) as (settings, db):
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
        columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeElapsedColumn())
        with (
            Progress(*columns, console=err, transient=False) as progress,
            db.load_journal(),
            db.transaction(write=True) as tx,
        ):
            task = progress.add_task("Seeding recordings", total=n_recordings)
            seeding.seed(tx, plan, lambda n: progress.advance(task, n))
            progress.update(task, description="Committing")
        db.vacuum_analyze(schema.COUNTED_TABLES)
        elapsed = time.monotonic() - started
        err.print(
            f"Seeded {n_recordings:,} recordings in {plan.meetings:,} meetings "
            f"in {elapsed:.1f} s ({n_recordings / elapsed:,.0f}/s)"
        )


@click.group()
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
