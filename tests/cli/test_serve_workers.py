"""`reckit serve` as a person starts it: its worker processes get the parent's settings whole
(the command line's --host, --port and --data-dir too), a wildcard listen address does not end up
in download links, and the recorders' polls stay out of the access log."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import httpx
import pytest

from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.http.server import SETTINGS_ENV, QuietPolls, log_config, worker_settings
from tests.support.builders import add_meeting
from tests.support.flows import Scripted, wait_for
from tests.support.live import Tenant, free_port, new_tenant
from tests.support.serving import is_up

pytestmark = pytest.mark.slow  # reckit serve processes with workers: 3-5 s a test


@dataclass
class Served:
    port: int
    url: str  # where the test reaches it
    db: Database  # the same SQLite store, opened by the test
    log: Path  # everything the server printed


@contextlib.contextmanager
def serve(tmp: Path, host: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`reckit serve --host HOST ARGS --port P --data-dir tmp/data` on SQLite, no built-in
    recorder (the test is the recorder), until the block ends (Ctrl-C, then a kill if it
    lingers)."""
    port = free_port()
    data = tmp / "data"
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", "RECKIT_BUILTIN_RECORDER": "0", **(env or {})}
    for name in ("RECKIT_DATABASE_URL", "RECKIT_PUBLIC_URL", "RECKIT_DATA_DIR", SETTINGS_ENV):
        if name not in (env or {}):
            environ.pop(name, None)
    log = tmp / "serve.log"
    with (
        log.open("w") as sink,
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reckit.cli",
                "serve",
                "--host",
                host,
                *args,
                "--port",
                str(port),
                "--data-dir",
                str(data),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environ,
            start_new_session=True,
        ) as proc,
    ):
        url = Settings(host=host, port=port).local_url
        db: Database | None = None
        try:
            wait_for(lambda: proc.poll() is not None or is_up(url), "reckit serve to listen")
            assert proc.poll() is None, log.read_text()
            db = Database(f"sqlite:///{data / 'reckit.sqlite3'}")
            yield Served(port, url, db, log)
        finally:
            if db is not None:
                db.close()
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _links(served: Served, tmp: Path) -> tuple[Tenant, list[str]]:
    """Record something through the running server (the test as its recorder), then read its
    download link back many times, each on a new connection (so that both workers answer
    some): every link seen."""
    t = new_tenant(served.db)
    recorder = Scripted.connect(served.url, served.db, SystemClock(), "test")
    media = tmp / "media.mp4"
    media.write_bytes(b"not really an mp4, but bytes to serve" * 100)
    try:
        body = {"meeting_id": add_meeting(served.db, t.app_id, "workers").id}
        rid = recorder.record(served.url, t, body, {"video": media})
    finally:
        recorder.close()
    kit = f"{served.url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"

    def uploaded() -> dict[str, object] | None:
        data: dict[str, object] = httpx.get(f"{kit}/{rid}", headers=t.auth).json()["data"]
        return data if data["status"] == "UPLOADED" else None

    wait_for(uploaded, "the recording to be UPLOADED")
    links = []
    for _ in range(12):
        links.append(httpx.get(f"{kit}/{rid}", headers=t.auth).json()["data"]["download_url"])
        listed = httpx.get(kit, headers=t.auth).json()["data"]
        links += [r["download_url"] for r in listed]
    # Whichever worker signed it, the link works: same key, same store.
    for link in links[:4]:
        got = httpx.get(link.replace(link.split("/dl/")[0], served.url))
        assert got.status_code == 200 and got.content == media.read_bytes()
    return t, links


def test_workers_sign_links_for_the_port_and_host_given(tmp_path: Path) -> None:
    # 127.0.0.2 is loopback too, and is neither default: both must reach the workers.
    with serve(tmp_path, "127.0.0.2", "--workers", "2") as served:
        assert served.url == f"http://127.0.0.2:{served.port}"
        _, links = _links(served, tmp_path)
        assert links and {link.split("/dl/")[0] for link in links} == {served.url}
        log = served.log.read_text()
    # The access log has the rest of the recorder API, not its polls (several a second).
    assert "/recorder/v1/recordings/" in log and "/complete" in log
    assert "/recorder/v1/poll" not in log
    assert f"Download links: {served.url}/dl/" in log


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_host_signs_loopback_links_and_says_so(tmp_path: Path, host: str) -> None:
    if host == "::" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    loopback = "http://127.0.0.1" if host == "0.0.0.0" else "http://[::1]"
    with serve(tmp_path, host, "--workers", "2") as served:
        assert served.url == f"{loopback}:{served.port}"
        _, links = _links(served, tmp_path)
        assert {link.split("/dl/")[0] for link in links} == {served.url}
        log = served.log.read_text()
    assert f"Download links: {served.url}/dl/" in log
    assert "which only this machine reaches. Set RECKIT_PUBLIC_URL" in log
    assert f"{host}:" not in log.split("Uvicorn running")[0]  # no link or curl names it


def test_a_public_url_is_used_as_given(tmp_path: Path) -> None:
    public = "https://recordings.example.com/reckit"
    with serve(tmp_path, "0.0.0.0", env={"RECKIT_PUBLIC_URL": public + "/"}) as served:
        _, links = _links(served, tmp_path)
        log = served.log.read_text()
    assert {link.split("/dl/")[0] for link in links} == {public}
    assert f"Download links: {public}/dl/" in log and "RECKIT_PUBLIC_URL to" not in log


def _ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_settings_reach_workers_whole(tmp_path: Path) -> None:
    """Every field, none at its default, survives the trip through the environment."""
    given = Settings(
        data_dir=tmp_path / "d",
        database_url="postgresql://u@h:5/db",
        host="10.1.2.3",
        port=18711,
        max_per_page=7,
        max_query_bytes=99,
        rate_limit=3,
        rate_window_s=9,
        page_cache_bytes=5,
        public_url="https://x.example",
        recorder_timeout_s=1.5,
        claim_timeout_s=2.5,
        empty_room_s=3.5,
        retention_days=0.5,
        sweep_interval_s=0.25,
        secret_key="k" * 44,
        delivery_attempts=2,
        delivery_backoff_s=0.5,
        job_lease_s=60.0,
        storage_endpoints={"aws": "http://127.0.0.1:9000", "gcs": "http://127.0.0.1:4443"},
        delivery_concurrency=3,
        delivery_per_host=1,
        delivery_attempt_timeout_s=30.0,
        bucket_url="s3://b/p",
        bucket_endpoint="http://127.0.0.1:9000",
        bucket_region="eu-west-1",
        bucket_access_key="ak",
        bucket_secret="sk",
        builtin_recorder=False,
        recorder_capacity=9,
        webhook_allow_private=True,
        webhook_timeout_s=2.5,
        metrics=True,
        metrics_token="mt",
        background=False,
        shutdown_grace_s=4.5,
        page_allow_private=True,
    )
    default = Settings()
    unchanged = [
        f.name for f in fields(Settings) if getattr(given, f.name) == getattr(default, f.name)
    ]
    assert unchanged == [], "give every setting a value of its own here"
    # What a worker reads wins over the environment it would otherwise build from.
    env = {SETTINGS_ENV: given.to_json(), "RECKIT_DATA_DIR": "elsewhere"}
    assert worker_settings(env) == given
    assert worker_settings({"RECKIT_DATA_DIR": "elsewhere"}).data_dir == Path("elsewhere")


@pytest.mark.parametrize(
    ("host", "public", "base", "local"),
    [
        ("127.0.0.1", "", "http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("0.0.0.0", "", "http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("", "", "http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("::", "", "http://[::1]:8787", "http://[::1]:8787"),
        ("::1", "", "http://[::1]:8787", "http://[::1]:8787"),
        ("0.0.0.0", "https://rec.example/", "https://rec.example", "http://127.0.0.1:8787"),
    ],
)
def test_link_base_for_each_listen_address(host: str, public: str, base: str, local: str) -> None:
    s = Settings(host=host, port=8787, public_url=public)
    assert (s.base_url, s.local_url) == (base, local)
    assert s.signs_for_wildcard == (host in ("0.0.0.0", "", "::") and not public)


def _access(method: str, path: str, status: int) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", method, path, "1.1", status),
        None,
    )


def test_quiet_polls_drops_only_successful_polls() -> None:
    quiet = QuietPolls()
    assert not quiet.filter(_access("POST", "/recorder/v1/poll", 200))
    assert quiet.filter(_access("POST", "/recorder/v1/poll", 401))  # a failing one is news
    assert quiet.filter(_access("POST", "/recorder/v1/recordings/x/complete", 200))
    assert quiet.filter(_access("GET", "/recorder/v1/poll", 405))
    assert quiet.filter(_access("GET", "/client/v4/accounts/a/realtime/kit/b/recordings", 200))
    assert "quiet_polls" in log_config(log_polls=False)["loggers"]["uvicorn.access"]["filters"]
    assert "filters" not in log_config(log_polls=True)["loggers"]["uvicorn.access"]
