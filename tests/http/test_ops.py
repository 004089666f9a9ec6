"""The operators' endpoints: ``/healthz`` and ``/readyz`` without credentials (readiness
failing while PostgreSQL is unreachable or the migrations are behind, and recovering), the
request ID echoed in ``X-Request-Id``, and ``/metrics`` parsed by prometheus_client's own
parser with the series operators watch."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reckit.config import Settings
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.http.server import RequestIds
from tests.support.builders import add_meeting, add_recording
from tests.support.flows import wait_for
from tests.support.live import free_port, new_tenant, run_server
from tests.support.pg import new_pg_database, own_database
from tests.support.recorders import builtin_recorder
from tests.support.serving import is_up, serve_process
from tests.support.storage_servers import S3_REGION, create_s3_bucket, new_bucket_name
from tests.support.tcp_proxy import Proxy


def test_healthz_and_readyz_answer_without_credentials(database: Database) -> None:
    with run_server(database) as live:
        health = httpx.get(f"{live.url}/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = httpx.get(f"{live.url}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "store": "ok", "bucket": "ok"}
        # Ops endpoints are not Cloudflare's API: not in the served OpenAPI document.
        doc = httpx.get(f"{live.api}/openapi.json").json()
        assert not any(p.endswith(("healthz", "readyz", "metrics")) for p in doc["paths"])
        # /metrics is off unless asked for.
        assert httpx.get(f"{live.url}/metrics").status_code == 404


def test_readyz_is_503_with_the_missing_migration(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    migrate(db)
    with db.transaction(write=True) as tx:
        tx.run("DELETE FROM schema_version WHERE version = 11")
    try:
        with run_server(db) as live:
            ready = httpx.get(f"{live.url}/readyz")
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "not ready" and body["bucket"] == "ok"
            assert "11" in body["store"] and "reckit migrate" in body["store"]
    finally:
        db.close()


@pytest.fixture
def pg_through_proxy() -> Iterator[tuple[Proxy, str]]:
    with new_pg_database() as url:
        rest = url.split("://", 1)[1]
        userinfo, _, hostpart = rest.partition("@")
        hostport, _, name = hostpart.partition("/")
        host, _, port = hostport.partition(":")
        proxy = Proxy((host, int(port or 5432)))
        proxy.start()
        try:
            yield proxy, f"postgresql://{userinfo}@127.0.0.1:{proxy.port}/{name}"
        finally:
            proxy.cut()


@pytest.mark.postgres  # its own database behind a proxy (the pg_through_proxy fixture)
def test_readyz_fails_while_postgresql_is_down_and_recovers(
    pg_through_proxy: tuple[Proxy, str],
) -> None:
    proxy, url = pg_through_proxy
    db = Database(url)
    migrate(db)

    def readiness(live_url: str) -> httpx.Response:
        return httpx.get(f"{live_url}/readyz", timeout=30)

    try:
        with run_server(db) as live:
            assert readiness(live.url).status_code == 200
            proxy.cut()
            down = wait_for(
                lambda: (r := readiness(live.url)).status_code == 503 and r,
                "readyz to fail with PostgreSQL unreachable",
            )
            assert down.json()["status"] == "not ready" and down.json()["store"] != "ok"
            assert down.json()["bucket"] == "ok"
            proxy.start()
            wait_for(
                lambda: readiness(live.url).status_code == 200,
                "readyz to recover with PostgreSQL back",
            )
    finally:
        proxy.cut()
        db.close()


def _exchange(app: Any, headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    sent: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def nothing() -> dict[str, Any]:
        return {}

    async def keep(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/healthz", "headers": headers}
    asyncio.run(app(inner)(scope, nothing, keep))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return {k.decode(): v.decode() for k, v in start["headers"]}


def test_the_request_id_is_echoed_and_a_plain_incoming_one_kept() -> None:
    made = _exchange(RequestIds, [])["x-request-id"]
    assert len(made) == 12
    assert _exchange(RequestIds, [(b"x-request-id", b"lb-42.a:b_c")]) == {
        "x-request-id": "lb-42.a:b_c"
    }
    for odd in (b"has space", b"x" * 65, b"new\nline", b""):
        echoed = _exchange(RequestIds, [(b"x-request-id", odd)])["x-request-id"]
        assert echoed != odd.decode() and len(echoed) == 12


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_in_prometheus_text_with_the_series_operators_watch(
    database: Database, tmp_path: Path
) -> None:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        metrics=True,
        data_dir=tmp_path,
    )
    t = new_tenant(database)
    meeting = add_meeting(database, t.app_id, "metrics")
    add_recording(database, t.app_id, meeting.id, status="UPLOADED")
    with run_server(database, settings) as live:
        base = f"{live.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
        for query in ("", "?status=UPLOADED", f"?meeting_id={meeting.id}", "?expired=true"):
            assert httpx.get(base + query, headers=t.auth).status_code == 200
        assert httpx.get(base, headers={"Authorization": "Bearer nope"}).status_code == 401
        page = httpx.get(f"{live.url}/metrics")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/plain")
        families = _families(page.text)

    requests = families["reckit_http_requests"]
    assert requests.type == "counter"
    list_route = "/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    by_status = {
        s.labels["status"]: s.value
        for s in requests.samples
        if s.name == "reckit_http_requests_total" and s.labels["route"] == list_route
    }
    assert by_status["200"] == 4 and by_status["401"] == 1
    latency = families["reckit_http_request_duration_seconds"]
    assert latency.type == "histogram"
    counts = [
        s.value
        for s in latency.samples
        if s.name.endswith("_count") and s.labels["route"] == list_route
    ]
    assert counts == [5]
    paths = {
        s.labels["path"]: s.value
        for s in families["reckit_list_queries"].samples
        if s.name.endswith("_total")
    }
    assert paths == {"days": 2, "meetings": 1, "expiry": 1}
    store_busy = [s for s in families["reckit_store_busy"].samples if s.name.endswith("_total")]
    assert [s.value for s in store_busy] == [0]
    recordings = {s.labels["status"]: s.value for s in families["reckit_recordings"].samples}
    assert recordings["UPLOADED"] >= 1
    for name in ("reckit_jobs", "reckit_job_attempts", "reckit_job_oldest_pending_age_seconds"):
        assert families[name].type == "gauge"
    ages = {
        s.labels["queue"]: s.value
        for s in families["reckit_job_oldest_pending_age_seconds"].samples
    }
    # Both queues always; other kinds are the shared store's (tests/jobs makes queues of its own).
    assert {"delivery", "webhook"} <= set(ages)
    assert "reckit_recorder_slots_in_use" in families
    waiting = families["reckit_recordings_waiting_for_recorder"].samples
    assert [s.value for s in waiting] == [waiting[0].value] and waiting[0].value >= 0
    assert "reckit_recording_oldest_wait_seconds" in families


@pytest.mark.slow  # a real capture by the built-in recorder (FFmpeg)
def test_metrics_report_the_capture_realtime_factor_of_a_real_recording(
    engine: str, tmp_path: Path
) -> None:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0.2,
        metrics=True,
        data_dir=tmp_path,
    )
    with (
        own_database(engine, tmp_path) as database,  # the recorder claims whatever waits
        run_server(database, settings) as live,
        builtin_recorder(live, tmp_path / "capture", capacity=1, poll_interval_s=0.2),
        httpx.Client(timeout=30) as http,
    ):
        t = new_tenant(database)
        http.headers.update(t.auth)
        meeting = add_meeting(database, t.app_id, "realtime factor")
        kit = f"{live.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
        started = http.post(
            kit, json={"meeting_id": meeting.id, "video_config": {"width": 320, "height": 240}}
        )
        assert started.status_code == 200, started.text
        rid = started.json()["data"]["id"]

        def status() -> str:
            return str(http.get(f"{kit}/{rid}").json()["data"]["status"])

        wait_for(lambda: status() == "RECORDING", "RECORDING")
        time.sleep(2.0)
        assert http.put(f"{kit}/{rid}", json={"action": "pause"}).status_code == 200
        time.sleep(1.0)
        assert http.put(f"{kit}/{rid}", json={"action": "resume"}).status_code == 200
        time.sleep(2.0)
        assert http.put(f"{kit}/{rid}", json={"action": "stop"}).status_code == 200
        wait_for(lambda: status() == "UPLOADED", "UPLOADED")
        families = _families(httpx.get(f"{live.url}/metrics").text)

    factor = families["reckit_capture_realtime_factor"]
    assert factor.type == "histogram"
    count = {s.labels["kind"]: s.value for s in factor.samples if s.name.endswith("_count")}
    total = {s.labels["kind"]: s.value for s in factor.samples if s.name.endswith("_sum")}
    assert count == {"composite": 1}
    # The file's duration over 4 s of capture (the pause left out): about real time.
    assert 0.5 <= total["composite"] / count["composite"] <= 1.5, total
    buckets = [s for s in factor.samples if s.name.endswith("_bucket")]
    assert max(s.value for s in buckets) == 1 and any(s.labels["le"] == "1.5" for s in buckets)


def test_metrics_behind_a_token_when_one_is_set(database: Database, tmp_path: Path) -> None:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        metrics=True,
        metrics_token="scrape-token-for-the-test",
        data_dir=tmp_path,
    )
    with run_server(database, settings) as live:
        assert httpx.get(f"{live.url}/metrics").status_code == 401
        wrong = {"Authorization": "Bearer not-it"}
        assert httpx.get(f"{live.url}/metrics", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer scrape-token-for-the-test"}
        page = httpx.get(f"{live.url}/metrics", headers=right)
        assert page.status_code == 200 and "reckit_recordings" in page.text


@pytest.mark.slow  # reckit serve with two worker processes
def test_metrics_add_up_every_worker_of_a_node(tmp_path: Path) -> None:
    port = free_port()
    process = serve_process(
        tmp_path,
        port,
        f"sqlite:///{tmp_path / 'reckit.sqlite3'}",
        {"RECKIT_METRICS": "1", "RECKIT_BUILTIN_RECORDER": "0"},
        extra=["--workers", "2"],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: is_up(url), "reckit serve to answer")
        n = 40
        with httpx.Client() as client:  # one connection per request: both workers answer
            for _ in range(n):
                r = client.get(f"{url}/healthz", headers={"connection": "close"})
                assert r.status_code == 200
            page = client.get(f"{url}/metrics").text
        samples = [
            s
            for s in _families(page)["reckit_http_requests"].samples
            if s.name == "reckit_http_requests_total" and s.labels["route"] == "/healthz"
        ]
        assert sum(s.value for s in samples) == n
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)


@pytest.mark.slow  # reckit serve with two workers and its built-in recorder (FFmpeg)
def test_metrics_report_the_realtime_factor_under_two_workers(tmp_path: Path) -> None:
    """As an operator runs it: `reckit serve --workers 2` with its built-in recorder, a short
    recording made through the API, and the histogram a scrape adds up over both workers."""
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'reckit.sqlite3'}"
    process = serve_process(
        tmp_path, port, database_url, {"RECKIT_METRICS": "1"}, ["--workers", "2"]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: is_up(url), "reckit serve to answer", 60)
        db = Database(database_url)
        try:
            t = new_tenant(db)
        finally:
            db.close()
        kit = f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}"
        with httpx.Client(headers=t.auth, timeout=30) as http:
            meeting = http.post(f"{kit}/meetings", json={"title": "two workers"})
            assert meeting.status_code == 201, meeting.text
            started = http.post(
                f"{kit}/recordings",
                json={
                    "meeting_id": meeting.json()["data"]["id"],
                    "video_config": {"width": 320, "height": 240},
                },
            )
            assert started.status_code == 200, started.text
            rid = started.json()["data"]["id"]

            def status() -> str:
                return str(http.get(f"{kit}/recordings/{rid}").json()["data"]["status"])

            wait_for(lambda: status() == "RECORDING", "RECORDING", 60)
            time.sleep(3.0)
            assert http.put(f"{kit}/recordings/{rid}", json={"action": "stop"}).is_success
            wait_for(lambda: status() == "UPLOADED", "UPLOADED", 120)
            page = http.get(f"{url}/metrics").text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
    factor = _families(page)["reckit_capture_realtime_factor"]
    count = {s.labels["kind"]: s.value for s in factor.samples if s.name.endswith("_count")}
    total = {s.labels["kind"]: s.value for s in factor.samples if s.name.endswith("_sum")}
    assert count == {"composite": 1}, count  # one hand-in, whichever worker took it
    # About real time; loose: the recorder learns of the stop at its next poll, and the
    # machine is shared (not a timing assertion).
    assert 0.5 <= total["composite"] <= 2.0, total


def test_metrics_keep_one_series_for_unusual_methods(database: Database, tmp_path: Path) -> None:
    settings = Settings(
        host="127.0.0.1", port=free_port(), sweep_interval_s=0, metrics=True, data_dir=tmp_path
    )
    with run_server(database, settings) as live:
        for method in ("PROPFIND", "TRACE", "LOCK"):
            assert httpx.request(method, f"{live.url}/healthz").status_code == 405
        page = httpx.get(f"{live.url}/metrics").text
    seen = {
        s.labels["method"]: s.value
        for s in _families(page)["reckit_http_requests"].samples
        if s.name == "reckit_http_requests_total" and s.labels["route"] == "/healthz"
    }
    assert seen == {"other": 3}


def test_readyz_fails_while_the_bucket_is_missing_and_recovers(
    database: Database, tmp_path: Path, moto: str
) -> None:
    name = new_bucket_name()
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp_path,
        bucket_url=f"s3://{name}/reckit",
        bucket_endpoint=moto,
        bucket_region=S3_REGION,
        bucket_access_key="readyz-bucket-key",
        bucket_secret="readyz-bucket-secret-value",
    )
    with run_server(database, settings) as live:
        missing = httpx.get(f"{live.url}/readyz")
        assert missing.status_code == 503
        assert missing.json()["store"] == "ok" and missing.json()["bucket"] != "ok"
        assert name in missing.json()["bucket"]
        create_s3_bucket(moto, name)
        assert httpx.get(f"{live.url}/readyz").status_code == 200
