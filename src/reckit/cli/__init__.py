"""``reckit``: a thin shell over the same services the HTTP API uses."""

from __future__ import annotations

import click

from reckit.cli import data, meetings, recordings, serve, store, webhooks, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reckit")
def main() -> None:
    """reckit: a self-hosted service that speaks Cloudflare RealtimeKit's Recordings API.

    Start with `reckit serve`; it prints a token and a curl command to try.
    """


for command in (
    serve.serve,
    serve.recorder_cmd,
    worker.worker,
    worker.nodes,
    store.recorder_tokens,
    store.migrate_cmd,
    store.accounts,
    store.apps,
    store.tokens,
    data.seed,
    data.storage,
    meetings.meetings,
    recordings.recordings,
    webhooks.webhooks,
):
    main.add_command(command)
