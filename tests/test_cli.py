"""The CLI as a person or a script uses it: real processes for `serve`, CliRunner for the rest."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reckit.cli import main
from tests.conftest import free_port


def run(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_accounts_apps_tokens_and_seed(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    account = json.loads(run(["accounts", "create", "--name", "Acme", "--json", *d]))["account_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", account)
    app = json.loads(run(["apps", "create", "--account", account, "--name", "web", "--json", *d]))
    assert re.fullmatch(r"[0-9a-f]{32}", app["app_id"])
    made = json.loads(run(["tokens", "create", "--account", account, "--permission", "Realtime",
                           "--name", "ci", "--json", *d]))  # fmt: skip
    assert set(made) == {"token", "token_id"} and len(made["token"]) == 40
    listed = json.loads(run(["tokens", "list", "--json", *d]))
    assert [(t["token_id"], t["permission"], t["revoked_at"]) for t in listed] == [
        (made["token_id"], "Realtime", None)
    ]
    assert made["token"] not in run(["tokens", "list", *d])  # never the value itself
    assert "Revoked" in run(["tokens", "revoke", made["token_id"], *d])
    assert "already revoked" in run(["tokens", "revoke", made["token_id"], *d])
    assert json.loads(run(["tokens", "list", "--json", *d]))[0]["revoked_at"] is not None

    run(["seed", "--app", app["app_id"], "--recordings", "500", "--meetings", "20", *d])
    human = run(["accounts", "create", "--name", "Second", *d])
    assert human.startswith("Created account ")


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    runner = CliRunner()
    for args in (["apps", "create", "--account", "0" * 32, "--name", "x", *d],
                 ["seed", "--app", "nope", "--recordings", "5", *d],
                 ["tokens", "revoke", "nope", *d],
                 ["accounts", "create", "--name", " ", *d]):  # fmt: skip
        result = runner.invoke(main, args)
        assert result.exit_code == 1, args
        assert "Error:" in result.output and "Traceback" not in result.output
    bad = runner.invoke(main, ["migrate"], env={"RECKIT_DATABASE_URL": "mysql://x"})
    assert bad.exit_code == 1 and "unsupported database URL" in bad.output


def test_help_answers() -> None:
    for args in ([], ["serve"], ["seed"], ["tokens", "create"]):
        out = run([*args, "--help"])
        assert "Usage:" in out
    assert "--data-dir" in run(["seed", "--help"])


def test_commands_honour_database_url(pg_server_url: str, tmp_path: Path) -> None:
    env = {"RECKIT_DATABASE_URL": pg_server_url}
    account = json.loads(run(["accounts", "create", "--name", "pg", "--json"], env))["account_id"]
    listed = run(["tokens", "list", "--account", account, "--json"], env)
    assert json.loads(listed) == []
    assert not any(tmp_path.iterdir())


def test_serve_first_start_prints_a_working_curl(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("RECKIT_DATABASE_URL", None)
    data = str(tmp_path / "data")
    with subprocess.Popen(
        [sys.executable, "-m", "reckit.cli", "serve", "--port", str(port), "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    ) as proc:  # fmt: skip
        try:
            _check_first_start(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
    # A second start finds the store and creates nothing new.
    second = subprocess.run(
        [sys.executable, "-m", "reckit.cli", "tokens", "list", "--json", "--data-dir", data],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert len(json.loads(second.stdout)) == 1


def _check_first_start(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Uvicorn running" in line or "Application startup complete" in line:
            break
    text = "".join(lines)
    token = re.search(r"token\s+(\S{40})", text)
    url = re.search(r"(http://127\.0\.0\.1:\d+/client/v4/accounts/\S+/recordings)", text)
    assert token and url, text
    r = httpx.get(url.group(1), headers={"Authorization": f"Bearer {token.group(1)}"})
    assert r.status_code == 200
    assert r.json()["paging"]["total_count"] == 0
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 0


@pytest.mark.parametrize("args", [["--port", "notaport"], ["--port", "-1"]])
def test_serve_rejects_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 2
