"""``reckit webhooks create|list|deliveries|redeliver`` against a running server, and
``reckit webhooks rotate-key`` against the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from reckit.cli import main
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.webhooks import events
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.pg import own_database
from tests.support.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def server(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("webhooks-cli")
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=data,
        sweep_interval_s=0,
        webhook_allow_private=True,
    )
    with own_database(engine, data) as db, run_server(db, settings) as live:
        yield live


def invoke(server: LiveServer, t: Tenant, *args: str, code: int = 0) -> Result:
    env: dict[str, str | None] = {
        "RECKIT_URL": server.url,
        "RECKIT_TOKEN": t.token,
        "RECKIT_ACCOUNT_ID": t.account_id,
        "RECKIT_APP_ID": t.app_id,
        "COLUMNS": None,  # captured output is 220 wide unless COLUMNS is set (cli/show.py)
    }
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == code, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def test_create_list_deliveries_and_redeliver(server: LiveServer) -> None:
    t = new_tenant(server.db)
    with Receiver([400]) as receiver:
        made = invoke(
            server,
            t,
            "webhooks",
            "create",
            "--name",
            "ops",
            "--target",
            receiver.url,
            "--event",
            "meeting.started",
            "--json",
        )
        hook = orjson.loads(made.output)
        assert hook["events"] == ["meeting.started"] and hook["enabled"] is True
        listed = invoke(server, t, "webhooks", "list")
        assert hook["id"] in listed.output and "meeting.started" in listed.output

        with server.db.transaction(write=True) as tx:
            events.emit(
                tx,
                t.app_id,
                "meeting.started",
                {"event": "meeting.started"},
                "s1",
                server.app.ctx.clock.now_ms(),
            )
        assert server.app.background.webhooks_once() == 1  # answered 400: failed for good
        shown = orjson.loads(
            invoke(server, t, "webhooks", "deliveries", hook["id"], "--json").output
        )
        (d,) = shown
        assert (d["status"], d["attempts"], d["last_status_code"]) == ("failed", 1, 400)
        table = invoke(server, t, "webhooks", "deliveries", hook["id"]).output
        assert "failed" in table and "400" in table

        again = invoke(server, t, "webhooks", "redeliver", hook["id"], d["id"])
        assert "queued" in again.output and d["uuid"] in again.output
        assert server.app.background.webhooks_once() == 1
        first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["rtk-uuid"] == second.headers["rtk-uuid"] == d["uuid"]


def test_a_refused_url_prints_the_servers_message(server: LiveServer) -> None:
    t = new_tenant(server.db)
    bad = invoke(
        server, t, "webhooks", "create", "--name", "x", "--target", "ftp://nowhere", code=1
    )
    assert '"url" must be an absolute http or https URL' in bad.output


def test_rotate_key_replaces_the_key_in_the_store(engine: str, tmp_path: Path) -> None:
    data = tmp_path / "store"
    with own_database(engine, data) as db:
        with db.transaction(write=True) as tx:
            before = events.ensure_key(tx, SystemClock().now_ms())[1]
        env = {"RECKIT_DATABASE_URL": db.url}
        result = CliRunner().invoke(
            main, ["webhooks", "rotate-key", "--data-dir", str(data), "--json"], env=env
        )
        assert result.exit_code == 0, result.output
        after = orjson.loads(result.output)["publicKey"]
        with db.transaction() as tx:
            stored = events.ensure_key(tx, 0)[1]
    assert after.startswith("-----BEGIN PUBLIC KEY-----") and after != before
    assert stored == after
