"""`reckit serve` logs one line per event on standard error (reckit/logs.py): the time, the
level, the logger and the message, then the request and recording IDs when the event has them;
JSON lines with RECKIT_LOG_FORMAT=json; its worker processes and uvicorn's own loggers the same
way. Nothing here configures this process's logging (the session's leak watch hangs on the root
logger): the formatters are tried on their own, the whole configuration in `reckit serve`."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from reckit import logs
from reckit.config import LogSettings
from reckit.http.server import SETTINGS_ENV, RequestIds, log_config
from tests.support.flows import wait_for
from tests.support.live import free_port
from tests.support.serving import is_up

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
TEXT_LINE = re.compile(rf"^({TIME}) (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) (.*)$")
RID = "0b0c1a2e-1111-2222-3333-444455556666"


def _emit(
    formatter: logging.Formatter,
    *,
    extra: dict[str, Any] | None = None,
    exc: bool = False,
    msg: str = "hello %s",
) -> str:
    """What ``formatter`` writes for one event of logger ``reckit.test``, through the same
    filter as the server's handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("reckit.test.logging")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc:
            try:
                raise ValueError("boom\nsecond line")
            except ValueError:
                logger.exception(msg, "world", extra=extra)
        else:
            logger.warning(msg, "world", extra=extra)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_a_text_line_has_time_level_logger_message_and_ids() -> None:
    with logs.bound(request_id="req1"):
        out = _emit(logs.TextFormatter(), extra={"recording_id": RID})
    assert out.count("\n") == 1
    found = TEXT_LINE.match(out.rstrip("\n"))
    assert found, out
    assert found.group(2, 3) == ("WARNING", "reckit.test.logging")
    assert found.group(4) == f"hello world request_id=req1 recording_id={RID}"
    # Outside the block the request is gone; no ID, nothing added.
    assert _emit(logs.TextFormatter()).rstrip("\n").endswith(" reckit.test.logging hello world")


def test_an_event_with_a_traceback_stays_one_line() -> None:
    out = _emit(logs.TextFormatter(), exc=True, msg="line one\nline two %s")
    assert out.count("\n") == 1, out
    assert "line one\\nline two world | Traceback" in out
    assert "ValueError: boom\\nsecond line" in out


def test_a_json_line_parses_with_its_fields() -> None:
    with logs.bound(recording_id=RID):
        entry = orjson.loads(_emit(logs.JsonFormatter(), exc=True))
    assert re.fullmatch(TIME, entry["time"])
    assert {k: entry[k] for k in ("level", "logger", "message", "recording_id")} == {
        "level": "ERROR",
        "logger": "reckit.test.logging",
        "message": "hello world",
        "recording_id": RID,
    }
    assert "request_id" not in entry
    assert entry["exception"].startswith("Traceback") and "ValueError: boom" in entry["exception"]


def test_bound_ids_are_restored_and_names_checked() -> None:
    with logs.bound(request_id="outer"), logs.bound(request_id="inner"):
        assert "request_id=inner" in _emit(logs.TextFormatter())
    assert "request_id" not in _emit(logs.TextFormatter())
    with pytest.raises(TypeError), logs.bound(meeting_id="x"):
        pass


def test_settings_from_the_environment() -> None:
    assert LogSettings.from_env({}) == LogSettings("text", "INFO")
    given = {"RECKIT_LOG_FORMAT": "JSON", "RECKIT_LOG_LEVEL": "debug"}
    assert LogSettings.from_env(given) == LogSettings("json", "DEBUG")
    with pytest.raises(ValueError, match="RECKIT_LOG_FORMAT must be one of text, json"):
        LogSettings.from_env({"RECKIT_LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="RECKIT_LOG_LEVEL must be one of DEBUG"):
        LogSettings.from_env({"RECKIT_LOG_LEVEL": "loud"})


def test_the_configuration_covers_reckit_and_uvicorn() -> None:
    config = log_config(log_polls=False, log=LogSettings("json", "WARNING"))
    assert config["root"] == {"level": "WARNING", "handlers": [logs.HANDLER_NAME]}
    assert config["formatters"]["default"]["()"] == "reckit.logs.JsonFormatter"
    for name in ("reckit", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["level"] == "WARNING"
        assert config["loggers"][name]["propagate"] is True
    handler = config["handlers"][logs.HANDLER_NAME]
    assert handler["stream"] == "ext://sys.stderr" and handler["filters"] == ["context"]
    assert log_config(log_polls=True)["formatters"]["access"]["()"] == "reckit.logs.TextFormatter"


def test_a_request_is_tagged_with_its_id_and_the_recording_in_its_path() -> None:
    seen: list[tuple[str | None, str | None]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        record = logging.LogRecord("reckit.http", logging.INFO, __file__, 1, "x", None, None)
        logs.ContextFilter().filter(record)
        seen.append((getattr(record, "request_id", None), getattr(record, "recording_id", None)))

    async def nothing() -> dict[str, Any]:
        return {}

    async def drop(message: Any) -> None:
        return None

    wrapped = RequestIds(app)
    paths = [
        f"/client/v4/accounts/a/realtime/kit/b/recordings/{RID}",
        f"/recorder/v1/recordings/{RID}/complete",
        f"/dl/app/{RID}/x.mp4",
        "/client/v4/accounts/a/realtime/kit/b/recordings",
        f"/accounts/a/realtime/kit/b/recordings/active-recording/{RID}",
    ]
    for path in paths:
        asyncio.run(wrapped({"type": "http", "path": path}, nothing, drop))
    assert [recording for _, recording in seen] == [RID, RID, RID, None, None]
    ids = [request for request, _ in seen]
    assert all(ids) and len(set(ids)) == len(ids)


@dataclass
class Run:
    url: str
    stderr: Path


@contextlib.contextmanager
def serve(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Run]:
    """`reckit serve` on SQLite in a data dir of its own, on a free port, its built-in
    recorder on, until the block ends (Ctrl-C); standard error kept apart."""
    port = free_port()
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    for name in (
        "RECKIT_DATABASE_URL",
        "RECKIT_PUBLIC_URL",
        "RECKIT_DATA_DIR",
        SETTINGS_ENV,
        "RECKIT_BUILTIN_RECORDER",
        "RECKIT_LOG_FORMAT",
        "RECKIT_LOG_LEVEL",
    ):
        if name not in (env or {}):
            environ.pop(name, None)
    stderr = tmp / "stderr.log"
    url = f"http://127.0.0.1:{port}"
    with (
        (tmp / "stdout.log").open("w") as out,
        stderr.open("w") as err,
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reckit.cli",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(tmp / "data"),
                *args,
            ],
            stdout=out,
            stderr=err,
            env=environ,
            start_new_session=True,
        ) as proc,
    ):
        try:
            wait_for(lambda: proc.poll() is not None or is_up(url), "reckit serve to listen")
            assert proc.poll() is None, stderr.read_text()
            yield Run(url, stderr)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _until_logged(run: Run, *needles: str) -> str:
    return str(
        wait_for(
            lambda: (text := run.stderr.read_text()) and all(n in text for n in needles) and text,
            f"{needles} in the log",
            timeout=30,
        )
    )


@pytest.mark.slow
def test_serve_logs_time_stamped_lines(tmp_path: Path) -> None:
    with serve(tmp_path) as run:
        httpx.get(f"{run.url}/client/v4/accounts/a/realtime/kit/b/recordings/{RID}")
        _until_logged(run, "reckit.recorder", f"recordings/{RID} HTTP/1.1")
    lines = run.stderr.read_text().splitlines()
    parsed = [TEXT_LINE.match(line) for line in lines]
    assert all(parsed), [line for line, p in zip(lines, parsed, strict=True) if not p]
    loggers = {p.group(3) for p in parsed if p}
    assert {"reckit.serve", "reckit.recorder", "uvicorn.error", "uvicorn.access"} <= loggers
    access = next(line for line in lines if f"recordings/{RID} HTTP" in line)
    node = (tmp_path / "data" / "node.id").read_text().strip()
    assert re.search(rf" 401 request_id=[0-9a-f]{{12}} recording_id={RID} node={node}$", access), (
        access
    )


@pytest.mark.slow
def test_serve_logs_json_lines_in_every_worker(tmp_path: Path) -> None:
    with serve(tmp_path, "--workers", "2", env={"RECKIT_LOG_FORMAT": "json"}) as run:
        for _ in range(6):  # new connections: both workers are likely to answer one
            httpx.get(f"{run.url}/client/v4/accounts/a/realtime/kit/b/recordings/{RID}")
        _until_logged(run, "reckit.recorder", "Application startup complete")
    entries = [orjson.loads(line) for line in run.stderr.read_text().splitlines()]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert re.fullmatch(TIME, entry["time"]), entry
    loggers = {e["logger"] for e in entries}
    assert {"reckit.serve", "reckit.recorder", "uvicorn.error", "uvicorn.access"} <= loggers
    # Both worker processes logged through the same configuration.
    started = [e for e in entries if e["message"].startswith("Started server process")]
    assert len(started) == 2, entries
    access = [e for e in entries if e["logger"] == "uvicorn.access" and RID in e["message"]]
    assert len(access) == 6 and all(e["recording_id"] == RID and e["request_id"] for e in access)
    node = (tmp_path / "data" / "node.id").read_text().strip()
    assert all(e.get("node") == node for e in entries), entries  # every line, every process
    assert len({e["request_id"] for e in access}) == 6


def test_a_bad_log_setting_stops_serve_before_it_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECKIT_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reckit.cli",
            "serve",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env={**env, "RECKIT_LOG_LEVEL": "loud"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "RECKIT_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in done.stderr
    assert not (tmp_path / "data").exists()
