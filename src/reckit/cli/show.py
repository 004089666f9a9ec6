"""How the remote commands print: tables and details for people (rich), ``--json`` for
scripts (the answer's ``data``)."""

from __future__ import annotations

import os
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table


def console() -> Console:
    # Piped or captured output is not cut to 80 columns: IDs and file names stay whole.
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=220)
    return console


def emit_json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def when(value: Any) -> str:
    """``2026-11-26T17:41:48.123Z`` → ``2026-11-26 17:41:48``."""
    if not value:
        return "-"
    return str(value).replace("T", " ")[:19]


def duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def size(n: Any) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def detail(title: str, data: dict[str, Any], order: tuple[str, ...]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    keys = [k for k in order if k in data] + [k for k in data if k not in order]
    for key in keys:
        value = data[key]
        if key == "meeting" and isinstance(value, dict):
            table.add_row("meeting", cell(value.get("id")))
            table.add_row("meeting title", cell(value.get("title")))
        elif key == "recording_duration":
            table.add_row(key, f"{duration(value)} ({value} s)")
        elif key == "file_size":
            table.add_row(key, "-" if value is None else f"{size(value)} ({value} bytes)")
        else:
            table.add_row(key, cell(value))
    console().print(table)


def paging_caption(paging: dict[str, Any] | None, shown: int) -> str:
    if not paging:
        return f"{shown} shown"
    total = paging.get("total_count", shown)
    if shown == 0:
        return f"none shown of {total}"
    return f"{paging.get('start_offset')}-{paging.get('end_offset')} of {total}"
