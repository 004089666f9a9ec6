"""Nodes on one store, as operators run them: `reckit serve` with its roles switched by flags,
`reckit worker` (background work, no HTTP), `reckit nodes` listing them; SIGTERM ends each
cleanly and the registry says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reckit.cli import main
from reckit.clock import SystemClock
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.nodes import repository as nodes
from tests.support.builders import add_meeting, add_recording
from tests.support.flows import wait_for
from tests.support.live import free_port, new_tenant
from tests.support.serving import is_up, serve_process


def _nodes(store: str, *extra: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        main,
        ["nodes", "--json", *extra],
        env={"RECKIT_DATABASE_URL": store},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.output) if result.output.strip() else []
    return listed


@pytest.mark.slow  # reckit serve and reckit worker as processes
def test_serve_and_worker_register_their_roles_and_stop_cleanly(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    port = free_port()
    api = serve_process(
        tmp_path / "api",
        port,
        store,
        {"RECKIT_BACKGROUND": "0"},
        extra=["--no-recorder"],
    )
    background = subprocess.Popen(
        [sys.executable, "-m", "reckit.cli", "worker", "--data-dir", str(tmp_path / "bg")],
        env={**os.environ, "RECKIT_DATABASE_URL": store},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: is_up(url), "reckit serve to answer")
        assert httpx.get(f"{url}/readyz").json()["status"] == "ready"
        live = wait_for(lambda: len(_nodes(store)) == 2 and _nodes(store), "two nodes")
        roles = sorted(str(n["roles"]) for n in live)
        assert roles == ["api", "background"]
        by_roles = {str(n["roles"]): n for n in live}
        assert by_roles["api"]["url"] == url and by_roles["api"]["recorder"] == "-"
        assert by_roles["api"]["pid"] != by_roles["background"]["pid"]
        for process in (api, background):
            process.send_signal(signal.SIGTERM)
        assert api.wait(60) == 0 and background.wait(60) == 0
        assert _nodes(store) == []
        stopped = _nodes(store, "--all")
        assert sorted(str(n["state"]) for n in stopped) == ["stopped", "stopped"]
    finally:
        for process in (api, background):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_nodes_says_why_a_recording_waits(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'reckit.sqlite3'}"
    db = Database(store)
    migrate(db)
    try:
        t = new_tenant(db)
        meeting = add_meeting(db, t.app_id, "waiting")
        now = SystemClock().now_ms()
        add_recording(db, t.app_id, meeting.id, status="INVOKED", invoked_time=now, config="{}")
        with db.transaction(write=True) as tx:
            nodes.register(
                tx,
                "busy-node",
                hostname="h",
                pid=1,
                roles=("api", "recorder"),
                url=None,
                recorder_capacity=2,
                now_ms=now,
            )
            nodes.heartbeat(tx, "busy-node", 2, now)
    finally:
        db.close()
    result = CliRunner().invoke(main, ["nodes"], env={"RECKIT_DATABASE_URL": store})
    assert result.exit_code == 0, result.output
    assert "busy-node" in result.output and "2/2" in result.output
    assert "1 recording(s) wait for a recorder" in result.output
    assert "no built-in recorder has a free slot" in result.output
