"""``reckit webhooks …``: an app's webhooks and their deliveries, on a running server
(``rotate-key``, on the store, is in ``store.py``)."""

from __future__ import annotations

import click
from rich.table import Table

from reckit.cli.remote import Api, connection_options, seg
from reckit.cli.show import cell, console, detail, emit_json, when
from reckit.webhooks.models import EVENTS

WEBHOOK_FIELDS = ("id", "name", "url", "events", "enabled", "created_at", "updated_at")


@click.group()
def webhooks() -> None:
    """Webhooks of an app: create, list, deliveries and redeliver on a running server
    (--url, --token, --account, --app); rotate-key on the store (--data-dir)."""


@webhooks.command(name="create")
@click.option("--name", required=True, help="A name for people.")
@click.option(
    "--target",
    "target_url",
    required=True,
    help="Where the events are POSTed (absolute http or https URL).",
)
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENTS),
    default=("recording.statusUpdate",),
    show_default=True,
    help="An event to send (repeatable).",
)
@click.option("--disabled", is_flag=True, help="Create it disabled (it is sent nothing).")
@connection_options
def webhooks_create(
    name: str,
    target_url: str,
    events: tuple[str, ...],
    disabled: bool,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Create a webhook and print it."""
    body = {"name": name, "url": target_url, "events": list(events), "enabled": not disabled}
    data, _ = Api(url, token, account_id, app_id).call("POST", "/webhooks", body=body)
    if as_json:
        emit_json(data)
    else:
        detail("Webhook created", data, WEBHOOK_FIELDS)


@webhooks.command(name="list")
@connection_options
def webhooks_list(url: str, token: str, account_id: str, app_id: str, as_json: bool) -> None:
    """List the app's webhooks."""
    data, _ = Api(url, token, account_id, app_id).call("GET", "/webhooks")
    if as_json:
        emit_json(data)
        return
    table = Table("id", "name", "url", "events", "enabled", "created", caption=f"{len(data)} shown")
    table.columns[0].no_wrap = True
    for w in data:
        table.add_row(
            w["id"],
            w["name"],
            w["url"],
            ", ".join(w["events"]),
            cell(w["enabled"]),
            when(w["created_at"]),
        )
    console().print(table)


@webhooks.command(name="deliveries")
@click.argument("webhook_id")
@connection_options
def webhooks_deliveries(
    webhook_id: str, url: str, token: str, account_id: str, app_id: str, as_json: bool
) -> None:
    """A webhook's deliveries, newest first: status, attempts, the last answer (reckit's
    extension)."""
    api = Api(url, token, account_id, app_id)
    data, _ = api.call("GET", f"/webhooks/{seg(webhook_id)}/deliveries")
    if as_json:
        emit_json(data)
        return
    table = Table(
        "id",
        "event",
        "status",
        "attempts",
        "last answer",
        "last attempt",
        "next attempt",
        "rtk-uuid",
        caption=f"{len(data)} shown",
    )
    table.columns[0].no_wrap = True
    for d in data:
        answer = d["last_status_code"] if d["last_status_code"] is not None else d["last_error"]
        table.add_row(
            d["id"],
            d["event"],
            d["status"],
            str(d["attempts"]),
            cell(answer),
            when(d["last_attempt_at"]),
            when(d["next_attempt_at"]),
            d["uuid"],
        )
    console().print(table)


@webhooks.command(name="redeliver")
@click.argument("webhook_id")
@click.argument("delivery_id")
@connection_options
def webhooks_redeliver(
    webhook_id: str,
    delivery_id: str,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Send a delivery again: a new delivery with the same body and rtk-uuid."""
    api = Api(url, token, account_id, app_id)
    data, _ = api.call(
        "POST", f"/webhooks/{seg(webhook_id)}/deliveries/{seg(delivery_id)}/redeliver"
    )
    if as_json:
        emit_json(data)
    else:
        click.echo(f"Delivery {data['id']} queued (rtk-uuid {data['uuid']}).")
