"""``reckit meetings …``: an app's meetings, on a running server."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from reckit.cli.remote import Api, connection_options, paging_params
from reckit.cli.show import cell, console, detail, emit_json, paging_caption, when

MEETING_FIELDS = ("id", "title", "status", "record_on_start", "created_at", "updated_at")


@click.group()
def meetings() -> None:
    """Meetings of an app, on a running server.

    Connection: --url (RECKIT_URL), --token (RECKIT_TOKEN), --account (RECKIT_ACCOUNT_ID) and
    --app (RECKIT_APP_ID), on every command.
    """


@meetings.command(name="create")
@click.option("--title", default=None, help="A title for people (searchable).")
@click.option(
    "--record-on-start", is_flag=True, help="Start a recording when the first participant joins."
)
@connection_options
def meetings_create(
    title: str | None,
    record_on_start: bool,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Create a meeting and print it (its ID is what `recordings start` takes)."""
    body: dict[str, Any] = {}
    if title is not None:
        body["title"] = title
    if record_on_start:
        body["record_on_start"] = True
    data, _ = Api(url, token, account_id, app_id).call("POST", "/meetings", body=body)
    if as_json:
        emit_json(data)
    else:
        detail("Meeting created", data, MEETING_FIELDS)


@meetings.command(name="list")
@click.option("--search", default=None, help="Part of a title, or a meeting ID (or prefix).")
@click.option("--page", type=click.IntRange(1), default=None, help="Page number, from 1.")
@click.option(
    "--per-page",
    type=click.IntRange(0),
    default=None,
    help="Meetings per page (server default 20; 0 counts only).",
)
@connection_options
def meetings_list(
    search: str | None,
    page: int | None,
    per_page: int | None,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """List the app's meetings, newest first."""
    params = paging_params(page, per_page)
    if search is not None:
        params.append(("search", search))
    data, paging = Api(url, token, account_id, app_id).call("GET", "/meetings", params=params)
    if as_json:
        emit_json(data)
        return
    table = Table(
        "id",
        "title",
        "status",
        "record on start",
        "created",
        caption=paging_caption(paging, len(data)),
    )
    table.columns[0].no_wrap = True
    for m in data:
        table.add_row(
            m["id"],
            cell(m.get("title")),
            cell(m.get("status")),
            cell(m.get("record_on_start")),
            when(m.get("created_at")),
        )
    console().print(table)
