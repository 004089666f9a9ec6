"""The CLI as a person or a script uses it: real processes for `serve`, CliRunner for the rest."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reckit.cli import main
from tests.support.live import free_port


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
    made = json.loads(
        run(
            [
                "tokens",
                "create",
                "--account",
                account,
                "--permission",
                "Realtime",
                "--name",
                "ci",
                "--json",
                *d,
            ]
        )
    )
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
    for args in (
        ["apps", "create", "--account", "0" * 32, "--name", "x", *d],
        ["seed", "--app", "nope", "--recordings", "5", *d],
        ["tokens", "revoke", "nope", *d],
        ["accounts", "create", "--name", " ", *d],
    ):
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


@pytest.mark.slow
def test_serve_first_start_prints_a_working_curl(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("RECKIT_DATABASE_URL", None)
    data = str(tmp_path / "data")
    with subprocess.Popen(
        [sys.executable, "-m", "reckit.cli", "serve", "--port", str(port), "--data-dir", data],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as proc:
        try:
            _check_first_start(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
    # A second start finds the store and creates nothing new.
    second = subprocess.run(
        [sys.executable, "-m", "reckit.cli", "tokens", "list", "--json", "--data-dir", data],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
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


def fails(args: list[str], env: Mapping[str, str | None] | None = None) -> str:
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output and "Traceback" not in result.output
    return result.output


def test_accounts_and_apps_lists(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    first = json.loads(run(["accounts", "create", "--name", "First", "--json", *d]))["account_id"]
    second = json.loads(run(["accounts", "create", "--name", "Second", "--json", *d]))
    second_id = second["account_id"]
    apps = [
        json.loads(run(["apps", "create", "--account", a, "--name", n, "--json", *d]))["app_id"]
        for a, n in ((first, "web"), (second_id, "ios"), (second_id, "android"))
    ]
    listed = json.loads(run(["accounts", "list", "--json", *d]))
    assert [(a["account_id"], a["name"]) for a in listed] == [
        (first, "First"),
        (second_id, "Second"),
    ]
    everything = json.loads(run(["apps", "list", "--json", *d]))
    assert sorted((a["app_id"], a["account_id"], a["name"]) for a in everything) == sorted(
        [(apps[0], first, "web"), (apps[1], second_id, "ios"), (apps[2], second_id, "android")]
    )
    only = json.loads(run(["apps", "list", "--account", second_id, "--json", *d]))
    assert sorted(a["app_id"] for a in only) == sorted(apps[1:])
    # For people: a table whose IDs are whole, however narrow the terminal.
    narrow = {"COLUMNS": "30"}
    human = run(["apps", "list", *d], narrow)
    assert all(app_id in human for app_id in apps) and first in human
    assert all(a in run(["accounts", "list", *d], narrow) for a in (first, second_id))


def test_a_missing_store_is_named_not_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that need what a store holds say where they looked, and create nothing: not
    ./reckit-data (the default), not the directory given."""
    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {"RECKIT_DATA_DIR": None, "RECKIT_DATABASE_URL": None}
    for args in (
        ["accounts", "list"],
        ["apps", "list"],
        ["tokens", "list"],
        ["seed", "--app", "0" * 32, "--recordings", "5"],
        ["apps", "create", "--account", "0" * 32, "--name", "x"],
        ["tokens", "create", "--account", "0" * 32],
        ["recorder-tokens", "create", "--name", "r"],
        ["tokens", "revoke", "0" * 32],
    ):
        message = " ".join(fails(args, env).split())
        where = tmp_path.resolve() / "reckit-data" / "reckit.sqlite3"
        assert f"No reckit store at {where} (--data-dir defaults to ./reckit-data)" in message
        assert "--data-dir" in message and "RECKIT_DATABASE_URL" in message
        elsewhere = tmp_path / "elsewhere"
        assert "No reckit store at" in fails([*args, "--data-dir", str(elsewhere)], env)
    assert list(tmp_path.iterdir()) == []


def test_what_is_not_in_the_store_is_named_with_the_store(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    run(["accounts", "create", "--name", "a", *d])
    for args, what in (
        (["seed", "--app", "nope", "--recordings", "5"], "App nope"),
        (["apps", "create", "--account", "nope", "--name", "x"], "Account nope"),
        (["apps", "list", "--account", "nope"], "Account nope"),
        (["tokens", "list", "--account", "nope"], "Account nope"),
        (["tokens", "create", "--account", "nope"], "Account nope"),
        (["tokens", "revoke", "nope"], "Token nope"),
    ):
        message = " ".join(fails([*args, *d]).split())
        store = tmp_path / "reckit.sqlite3"
        assert f"{what} not found in the store at {store}" in message, message
        assert "--data-dir" in message and "RECKIT_DATABASE_URL" in message


def test_lists_on_postgres_name_the_database_not_its_password(pg_server_url: str) -> None:
    env = {"RECKIT_DATABASE_URL": pg_server_url.replace("postgres@", "postgres:hunter2@")}
    account = json.loads(run(["accounts", "create", "--name", "pg", "--json"], env))["account_id"]
    assert account in [
        a["account_id"] for a in json.loads(run(["accounts", "list", "--json"], env))
    ]
    assert json.loads(run(["apps", "list", "--account", account, "--json"], env)) == []
    message = fails(["apps", "list", "--account", "nope"], env)
    assert "in the store at PostgreSQL 127.0.0.1" in message and "hunter2" not in message


def _reckit(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    for name in ("RECKIT_DATABASE_URL", "RECKIT_DATA_DIR"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "reckit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_on_a_busy_port_fails_before_making_anything(tmp_path: Path) -> None:
    """A first start that cannot listen creates no store, so the next start still makes and
    prints the credentials."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        done = _reckit(["serve", "--port", str(port), "--data-dir", str(data)], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"cannot listen on http://127.0.0.1:{port}: the port is in use" in done.stderr
    assert "token" not in done.stdout and "Traceback" not in done.stderr
    assert not data.exists()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Held as a running recorder holds its work dir (recorder/worker.py)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def test_a_busy_work_dir_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    work = tmp_path / "capture"
    with _locked(work):
        done = _reckit(
            [
                "recorder",
                "--server",
                f"http://127.0.0.1:{free_port()}",
                "--token",
                "rkr_x",
                "--work-dir",
                str(work),
            ],
            tmp_path,
        )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"another recorder is running on the work dir {work}" in done.stderr

    data = tmp_path / "data"
    with _locked(data / "capture"):
        done = _reckit(["serve", "--port", str(free_port()), "--data-dir", str(data)], tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    message = " ".join(done.stderr.split())
    assert f"another recorder is running on the capture directory {data / 'capture'}" in message
    assert "RECKIT_BUILTIN_RECORDER=0" in message
    assert "token" not in done.stdout  # nothing was bootstrapped: the next start prints it
