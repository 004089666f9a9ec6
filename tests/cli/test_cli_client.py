"""``reckit meetings …`` and ``reckit recordings …`` against a live reckit, through click's
CliRunner: tables for people, ``--json`` for scripts, the server's message on an error.

No recorder runs here: a recording turns RECORDING when a recorder-API client (this test)
says capture began, and every other change goes through the commands themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reckit.capture.tokens import create_recorder_token
from reckit.cli import main
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.recorder.client import RecorderClient
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.pg import own_database


@dataclass
class World:
    server: LiveServer
    recorder: RecorderClient


@pytest.fixture(scope="module")
def world(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("cli-client")
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data, sweep_interval_s=0)
    with own_database(engine, data) as db, run_server(db, settings) as server:
        with db.transaction(write=True) as tx:
            token, _ = create_recorder_token(tx, SystemClock(), "cli-test")
        recorder = RecorderClient(server.url, token)
        try:
            yield World(server, recorder)
        finally:
            recorder.close()


@pytest.fixture
def t(world: World) -> Tenant:
    return new_tenant(world.server.db)


def _env(world: World, t: Tenant) -> dict[str, str | None]:
    return {
        "RECKIT_URL": world.server.url,
        "RECKIT_TOKEN": t.token,
        "RECKIT_ACCOUNT_ID": t.account_id,
        "RECKIT_APP_ID": t.app_id,
        # Captured output is 220 columns wide unless COLUMNS says otherwise (cli/show.py); a
        # pytest-xdist worker has COLUMNS=80 in its environment.
        "COLUMNS": None,
    }


def invoke(world: World, t: Tenant, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args), env=_env(world, t))
    assert result.exit_code == code, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def as_json(world: World, t: Tenant, *args: str) -> Any:
    return json.loads(invoke(world, t, *args, "--json").stdout)


def _capture_began(world: World, recording_id: str) -> None:
    """What a recorder does: claim the recording, then say capture began (→ RECORDING)."""
    claimed = [item["id"] for item in world.recorder.poll(100, [])]
    assert recording_id in claimed
    assert world.recorder.started(recording_id)["status"] == "RECORDING"


def test_a_recording_waiting_for_a_recorder_says_why(world: World, t: Tenant) -> None:
    meeting = as_json(world, t, "meetings", "create", "--title", "Waiting")["id"]
    rid = as_json(world, t, "recordings", "start", meeting)["id"]
    shown = invoke(world, t, "recordings", "get", rid).stdout
    assert "waiting: no built-in recorder is running (a recorder of your own may still" in shown
    assert "ends ERRORED if no recorder claims it within 120 s" in shown
    assert "waiting" not in json.dumps(as_json(world, t, "recordings", "get", rid))
    _capture_began(world, rid)
    assert "waiting:" not in invoke(world, t, "recordings", "get", rid).stdout


def test_meetings_create_and_list(world: World, t: Tenant) -> None:
    made = as_json(world, t, "meetings", "create", "--title", "Falcon standup", "--record-on-start")
    assert made["title"] == "Falcon standup" and made["record_on_start"] is True
    assert made["status"] == "ACTIVE"
    human = invoke(world, t, "meetings", "create", "--title", "Owl review").stdout
    assert "Meeting created" in human and "Owl review" in human
    other = as_json(world, t, "meetings", "list", "--search", "owl")
    assert [m["title"] for m in other] == ["Owl review"]
    assert other[0]["id"] in human

    listed = as_json(world, t, "meetings", "list")
    assert [m["title"] for m in listed] == ["Owl review", "Falcon standup"]  # newest first
    table = invoke(world, t, "meetings", "list", "--per-page", "1", "--page", "2").stdout
    assert made["id"] in table and "Falcon standup" in table and "2-2 of 2" in table
    assert "Owl review" not in table


def test_a_recording_through_its_states(world: World, t: Tenant) -> None:
    meeting = as_json(world, t, "meetings", "create", "--title", "Lifecycle")["id"]
    rec = as_json(
        world,
        t,
        "recordings",
        "start",
        meeting,
        "--codec",
        "vp9",
        "--width",
        "320",
        "--height",
        "240",
        "--audio-codec",
        "MP3",
        "--mono",
        "--max-seconds",
        "120",
        "--file-name-prefix",
        "cli",
    )
    rid = rec["id"]
    assert rec["status"] == "INVOKED"
    assert rec["output_file_name"].startswith(f"cli_{meeting}_")
    assert rec["output_file_name"].endswith(".webm")  # VP9

    # A second start needs --allow-multiple on both; this one did not ask for it.
    refused = invoke(world, t, "recordings", "start", meeting, "--allow-multiple", code=1)
    assert "BAD_REQUEST: meeting already has an active recording" in refused.stderr
    assert refused.stdout == ""

    _capture_began(world, rid)
    paused = invoke(world, t, "recordings", "pause", rid).stdout
    assert "Recording paused" in paused and rid in paused and "PAUSED" in paused
    assert as_json(world, t, "recordings", "resume", rid)["status"] == "RECORDING"
    stopped = as_json(world, t, "recordings", "stop", rid)
    assert stopped["status"] == "UPLOADING" and stopped["stop_reason"]["reason"] == "API_CALL"

    got = as_json(world, t, "recordings", "get", rid)
    assert got["id"] == rid and got["status"] == "UPLOADING" and got["started_time"]
    shown = invoke(world, t, "recordings", "get", rid).stdout
    assert rid in shown and "UPLOADING" in shown and got["output_file_name"] in shown

    table = invoke(world, t, "recordings", "list", "--status", "uploading").stdout
    assert rid in table and "UPLOADING" in table and "Lifecycle" in table
    assert as_json(world, t, "recordings", "list", "--status", "UPLOADED") == []
    only = as_json(world, t, "recordings", "list", "--meeting", meeting, "--search", "lifecyc")
    assert [r["id"] for r in only] == [rid] and only[0]["meeting"]["id"] == meeting


def test_stop_before_capture_ends_errored(world: World, t: Tenant) -> None:
    meeting = as_json(world, t, "meetings", "create", "--title", "Never captured")["id"]
    started = invoke(world, t, "recordings", "start", meeting).stdout
    assert "Recording started" in started and "INVOKED" in started
    rid = as_json(world, t, "recordings", "list")[0]["id"]
    assert rid in started
    stopped = invoke(world, t, "recordings", "stop", rid).stdout
    assert rid in stopped and "ERRORED" in stopped
    listed = as_json(
        world,
        t,
        "recordings",
        "list",
        "--status",
        "ERRORED",
        "--status",
        "PAUSED",
        "--per-page",
        "5",
        "--page",
        "1",
    )
    assert [(r["id"], r["status"]) for r in listed] == [(rid, "ERRORED")]


def test_get_says_why_a_recording_failed(world: World, t: Tenant) -> None:
    meeting = as_json(world, t, "meetings", "create", "--title", "Fails")["id"]
    rid = as_json(world, t, "recordings", "start", meeting)["id"]
    _capture_began(world, rid)
    world.recorder.failed(rid, "FFmpeg exited with code 1: the camera went away")
    shown = invoke(world, t, "recordings", "get", rid).stdout
    assert "ERRORED" in shown and "error_reason" in shown
    assert "the camera went away" in shown
    got = as_json(world, t, "recordings", "get", rid)
    assert got["error_reason"] == "FFmpeg exited with code 1: the camera went away"


def test_errors_print_the_servers_message(world: World, t: Tenant) -> None:
    meeting = as_json(world, t, "meetings", "create")["id"]
    bad = invoke(world, t, "recordings", "start", meeting, "--max-seconds", "5", code=1)
    assert "BAD_REQUEST:" in bad.stderr and "max_seconds" in bad.stderr and bad.stdout == ""

    rid = as_json(world, t, "recordings", "start", meeting)["id"]
    early = invoke(world, t, "recordings", "pause", rid, code=1)
    assert "BAD_REQUEST: cannot pause a recording that is INVOKED" in early.stderr

    missing = invoke(world, t, "recordings", "get", "9" * 8 + rid[8:], code=1)
    assert "not found" in missing.stderr.lower()
    unknown = invoke(world, t, "recordings", "start", "0" * 8 + meeting[8:], code=1)
    assert "not found" in unknown.stderr.lower()
    # An ID is one path segment, whatever it holds: no other route is reached.
    odd = invoke(world, t, "recordings", "get", "../meetings", code=1)
    assert odd.stdout == "" and "Error:" in odd.stderr
    bad_meeting = invoke(world, t, "recordings", "list", "--meeting", "nope", code=1)
    assert "BAD_REQUEST:" in bad_meeting.stderr and "meeting_id" in bad_meeting.stderr


def test_a_bad_token_says_so(world: World, t: Tenant) -> None:
    result = invoke(world, t, "recordings", "list", "--token", "x" * 40, code=1)
    assert "Authentication error" in result.stderr and "token" in result.stderr
    other = new_tenant(world.server.db)  # a real token, another account
    result = invoke(world, t, "meetings", "list", "--token", other.token, code=1)
    assert "Authentication error" in result.stderr


def test_an_unreachable_server_says_so(world: World, t: Tenant) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = invoke(world, t, "recordings", "get", "anything", "--url", url, code=1)
    assert f"cannot reach reckit at {url}" in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_options_are_required_and_explained(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["recordings", "list", "--account", "a", "--app", "b"], env={"RECKIT_TOKEN": None}
    )
    assert result.exit_code == 2 and "Missing option '--token'" in result.stderr
    result = runner.invoke(
        main,
        ["meetings", "list", "--token", "t"],
        env={"RECKIT_ACCOUNT_ID": None, "RECKIT_APP_ID": None},
    )
    assert result.exit_code == 2 and "--account" in result.stderr

    top = runner.invoke(main, ["recordings", "--help"])
    assert top.exit_code == 0
    for command in ("start", "pause", "resume", "stop", "get", "list"):
        assert command in top.stdout
    start = runner.invoke(main, ["recordings", "start", "--help"])
    for text in (
        "MEETING_ID",
        "--max-seconds",
        "--codec",
        "[H264|VP8|VP9]",
        "--mono",
        "--allow-multiple",
        "RECKIT_TOKEN",
        "RECKIT_URL",
        "--json",
    ):
        assert text in start.stdout, text
    listing = runner.invoke(main, ["recordings", "list", "--help"])
    assert "UPLOADED" in listing.stdout and "--per-page" in listing.stdout
    assert "ERRORED" in runner.invoke(main, ["recordings", "stop", "--help"]).stdout
