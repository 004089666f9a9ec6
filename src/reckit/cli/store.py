"""Commands on the store itself: migrate, accounts, apps, tokens, recorder tokens, webhook key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from reckit.accounts import repository as accounts_repo
from reckit.accounts.service import create_account
from reckit.apps import repository as apps_repo
from reckit.apps.service import create_app as create_app_record
from reckit.auth.tokens import PERMISSIONS, create_token, list_tokens, revoke_token
from reckit.capture.tokens import create_recorder_token
from reckit.cli import webhooks
from reckit.cli.common import (
    data_dir_option,
    emit,
    json_option,
    open_store,
    out,
    print_list,
    store_name,
)
from reckit.clock import SystemClock
from reckit.errors import NotFound
from reckit.timestamps import format_ms


@click.group(name="recorder-tokens")
def recorder_tokens() -> None:
    """Tokens for recorders and media planes (the recorder API, docs/recorder-api.md)."""


@recorder_tokens.command(name="create")
@click.option("--name", required=True, help="Which recorder holds it (one name per recorder).")
@json_option
@data_dir_option
def recorder_tokens_create(name: str, as_json: bool, data_dir: Path | None) -> None:
    """Create a recorder token. It is shown once."""
    with open_store(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        token, token_id = create_recorder_token(tx, SystemClock(), name)
    emit(
        as_json,
        {"token": token, "token_id": token_id},
        f"Recorder token {token_id} for {name}:\n  {token}\n(shown once)",
    )


@click.command(name="migrate")
@data_dir_option
def migrate_cmd(data_dir: Path | None) -> None:
    """Create or upgrade the store's schema, then exit."""
    with open_store(data_dir) as (settings, _):
        out.print(f"Store is up to date: {settings.resolved_database_url.split('@')[-1]}")


@click.group()
def accounts() -> None:
    """Accounts own apps and tokens."""


@accounts.command(name="create")
@click.option("--name", required=True, help="A name for people.")
@json_option
@data_dir_option
def accounts_create(name: str, as_json: bool, data_dir: Path | None) -> None:
    """Create an account."""
    with open_store(data_dir) as (_, db), db.transaction(write=True) as tx:
        account_id = create_account(tx, SystemClock(), name)
    emit(as_json, {"account_id": account_id}, f"Created account {account_id}")


@accounts.command(name="list")
@json_option
@data_dir_option
def accounts_list(as_json: bool, data_dir: Path | None) -> None:
    """List accounts, oldest first (the first start's is named "default")."""
    with open_store(data_dir, create=False) as (settings, db), db.transaction() as tx:
        rows = accounts_repo.list_all(tx)
    items = [
        {"account_id": a, "name": name, "created_at": format_ms(created)}
        for a, name, created in rows
    ]
    print_list(as_json, items, "accounts", store_name(settings))


@click.group()
def apps() -> None:
    """Apps hold meetings and recordings."""


@apps.command(name="create")
@click.option("--account", "account_id", required=True, help="The owning account's ID.")
@click.option("--name", required=True, help="A name for people.")
@json_option
@data_dir_option
def apps_create(account_id: str, name: str, as_json: bool, data_dir: Path | None) -> None:
    """Create an app in an account."""
    with open_store(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        app = create_app_record(tx, SystemClock(), account_id, name)
    emit(as_json, {"app_id": app.id}, f"Created app {app.id} in account {account_id}")


APPS_PAGE = 1000


@apps.command(name="list")
@click.option("--account", "account_id", default=None, help="Only this account's apps.")
@json_option
@data_dir_option
def apps_list(account_id: str | None, as_json: bool, data_dir: Path | None) -> None:
    """List apps, by account, oldest first."""
    items: list[dict[str, Any]] = []
    with open_store(data_dir, create=False) as (settings, db), db.transaction() as tx:
        if account_id is not None and not accounts_repo.exists(tx, account_id):
            raise NotFound(f"Account {account_id} not found")
        owners = [account_id] if account_id else [a for a, _, _ in accounts_repo.list_all(tx)]
        for owner in owners:
            offset, rows = 0, None
            while rows is None or len(rows) == APPS_PAGE:
                _, rows = apps_repo.list_page(tx, owner, None, False, APPS_PAGE, offset)
                offset += len(rows)
                items += [
                    {
                        "app_id": app.id,
                        "account_id": owner,
                        "name": app.name,
                        "created_at": format_ms(app.created_at),
                    }
                    for app in rows
                ]
    print_list(as_json, items, "apps", store_name(settings))


@click.group()
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
    with open_store(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        token, token_id = create_token(tx, SystemClock(), account_id, permission, name)
    emit(
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
    with open_store(data_dir, create=False) as (_, db), db.transaction() as tx:
        if account_id is not None and not accounts_repo.exists(tx, account_id):
            raise NotFound(f"Account {account_id} not found")
        infos = list_tokens(tx, account_id)
    if as_json:
        click.echo(
            orjson.dumps(
                [
                    {
                        "token_id": t.id,
                        "account_id": t.account_id,
                        "permission": t.permission,
                        "name": t.name,
                        "created_at": format_ms(t.created_at),
                        "revoked_at": None if t.revoked_at is None else format_ms(t.revoked_at),
                    }
                    for t in infos
                ]
            ).decode()
        )
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
    with open_store(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        changed = revoke_token(tx, SystemClock(), token_id)
    out.print(f"Revoked token {token_id}" if changed else f"Token {token_id} was already revoked")


@webhooks.webhooks.command(name="rotate-key")
@json_option
@data_dir_option
def webhooks_rotate_key(as_json: bool, data_dir: Path | None) -> None:
    """Replace the webhook signing key in the store (every node signs with it from its next
    delivery on; receivers fetch the new public key from /.well-known/webhooks.json). Deliveries
    already queued keep the signature they were made with."""
    from reckit.webhooks.service import rotate_key

    with open_store(data_dir, create=False) as (_, db), db.transaction(write=True) as tx:
        public = rotate_key(tx, SystemClock().now_ms())
    emit(as_json, {"publicKey": public}, f"New webhook signing key; its public key:\n{public}")
