"""Delivery to customers' storage, against real servers on 127.0.0.1 (Azurite, OpenSSH's sshd,
an S3-compatible server, a GCS emulator): a recording made through the API arrives at
``path/output_file_name``, byte-identical, with its audio file beside it; failures are retried
or end the recording ERRORED with the reason while reckit's copy stays downloadable. Time is a
ManualClock: retries are due when the test says so."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.delivery.repository import for_recording
from reckit.jobs import repository as jobs
from reckit.recordings import live_repository as live
from reckit.storage.base import Destination
from reckit.storage.registry import open_destination
from tests.support.builders import NOW, add_meeting
from tests.support.flows import Scripted
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.netgate import Gate
from tests.support.storage_servers import (
    create_gcs_bucket,
    create_s3_bucket,
    gcs_config,
    s3_config,
    service_account_json,
)
from tests.support.storage_servers_az_sftp import AzuriteServer, SshdServer, closed_port

CLOCK = ManualClock(NOW)


@pytest.fixture(scope="module")
def server(
    database: Database, tmp_path_factory: pytest.TempPathFactory, endpoints: dict[str, str]
) -> Iterator[LiveServer]:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp_path_factory.mktemp("delivery"),
        delivery_attempts=3,
        delivery_backoff_s=5,
        storage_endpoints=endpoints,
    )
    with run_server(database, settings, CLOCK) as live_server:
        yield live_server


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return new_tenant(database)


@pytest.fixture
def recorder(
    server: LiveServer, database: Database, request: pytest.FixtureRequest
) -> Iterator[Scripted]:
    client = Scripted.connect(server.url, database, CLOCK, f"delivery-{request.node.name}")
    yield client
    client.close()


def media(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "v.mp4").write_bytes(os.urandom(700_000))
    (tmp_path / "a.m4a").write_bytes(os.urandom(90_000))
    return {"video": tmp_path / "v.mp4", "audio": tmp_path / "a.m4a"}


def azure_config(az: AzuriteServer, **over: Any) -> dict[str, Any]:
    # Cloudflare's guide: connection string in access_key, container in bucket, region "".
    return {
        "type": "azure",
        "access_key": az.connection_string(),
        "secret": "",
        "bucket": az.create_container(),
        "region": "",
        "path": "calls/2026",
        **over,
    }


def sftp_config(ssh: SshdServer, auth: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "sftp",
        "host": ssh.host,
        "port": ssh.port,
        "username": ssh.username,
        "auth_method": auth,
        "path": str(ssh.root / f"rec-{os.urandom(4).hex()}"),
        # Required by the spec's rule for sftp, unused by it.
        "access_key": "sftp-access-unused",
        "region": "r1",
    }
    if auth == "KEY":
        pair = ssh.keys["ed25519-passphrase"]
        base.update(private_key=pair.private_pem, password=pair.passphrase)
    else:
        base["password"] = ssh.password
    return {**base, **over}


def get_recording(server: LiveServer, t: Tenant, rid: str) -> dict[str, Any]:
    kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
    data: dict[str, Any] = httpx.get(f"{kit}/{rid}", headers=t.auth).json()["data"]
    return data


def deliver_all(server: LiveServer) -> None:
    while server.app.deliver_once():
        pass


def landed(
    config: dict[str, Any], name: str, tmp_path: Path, endpoints: dict[str, str] | None = None
) -> bytes:
    dest: Destination = open_destination(config, endpoints)
    try:
        out = tmp_path / f"landed-{name}"
        dest.get(name, out)
        return out.read_bytes()
    finally:
        dest.close()


@dataclass
class Servers:
    azurite: AzuriteServer
    sshd: SshdServer
    moto: str
    gcs: str


CASES: dict[str, Callable[[Servers], dict[str, Any]]] = {
    "aws": lambda s: s3_config(create_s3_bucket(s.moto), path="recordings/eu"),
    "digitalocean": lambda s: s3_config(
        create_s3_bucket(s.moto), kind="digitalocean", region="SGP1", path="do"
    ),
    "azure": lambda s: azure_config(s.azurite),
    "gcs": lambda s: gcs_config(
        create_gcs_bucket(s.gcs), path="gcs/path", secret=service_account_json()
    ),
    "sftp-password": lambda s: sftp_config(s.sshd, "PASSWORD"),
    "sftp-key": lambda s: sftp_config(s.sshd, "KEY"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_recording_arrives_byte_identical(
    case: str,
    server: LiveServer,
    database: Database,
    tenant: Tenant,
    recorder: Scripted,
    azurite: AzuriteServer,
    sshd: SshdServer,
    moto: str,
    gcs: str,
    endpoints: dict[str, str],
    tmp_path: Path,
) -> None:
    config = CASES[case](Servers(azurite, sshd, moto, gcs))
    files = media(tmp_path)
    meeting = add_meeting(database, tenant.app_id, "delivery")
    rid = recorder.record(
        server.url, tenant, {"meeting_id": meeting.id, "storage_config": config}, files
    )
    waiting = get_recording(server, tenant, rid)
    assert waiting["status"] == "UPLOADING" and waiting["download_url"] is None
    assert waiting["storage_config"]["type"] == config["type"]
    deliver_all(server)
    done = get_recording(server, tenant, rid)
    assert done["status"] == "UPLOADED"
    got = landed(config, done["output_file_name"], tmp_path, endpoints)
    assert got == files["video"].read_bytes()
    assert landed(config, "a.m4a", tmp_path, endpoints) == files["audio"].read_bytes()
    # reckit's own copy too, by its link.
    assert httpx.get(done["download_url"]).content == files["video"].read_bytes()
    # At rest, the secrets are sealed: the stored config holds none of them in the clear.
    with database.transaction() as tx:
        stored = live.get(tx, tenant.app_id, rid)
    assert stored is not None and stored.storage_config is not None
    for name in ("access_key", "secret", "password", "private_key"):
        value = config.get(name)
        if isinstance(value, str) and len(value) > 6:
            assert value not in stored.storage_config


def test_bucket_disabled_keeps_no_copy_once_delivered(
    server: LiveServer,
    database: Database,
    tenant: Tenant,
    recorder: Scripted,
    sshd: SshdServer,
    tmp_path: Path,
) -> None:
    config = sftp_config(sshd, "PASSWORD")
    files = media(tmp_path)
    meeting = add_meeting(database, tenant.app_id, "no bucket")
    body = {
        "meeting_id": meeting.id,
        "storage_config": config,
        "realtimekit_bucket_config": {"enabled": False},
    }
    rid = recorder.record(server.url, tenant, body, files)
    deliver_all(server)
    done = get_recording(server, tenant, rid)
    assert done["status"] == "UPLOADED"
    assert done["download_url"] is None and done["download_url_expiry"] is None
    assert landed(config, done["output_file_name"], tmp_path) == files["video"].read_bytes()
    assert not (server.settings.media_dir / tenant.app_id / rid).exists() or not any(
        (server.settings.media_dir / tenant.app_id / rid).iterdir()
    )


def test_wrong_credentials_end_errored_with_the_bucket_copy_intact(
    server: LiveServer,
    database: Database,
    tenant: Tenant,
    recorder: Scripted,
    azurite: AzuriteServer,
    tmp_path: Path,
) -> None:
    wrong = azurite.connection_string(key=azurite.key[:-8] + "AAAAAAA=")
    config = azure_config(azurite, access_key=wrong)
    files = media(tmp_path)
    meeting = add_meeting(database, tenant.app_id, "wrong key")
    rid = recorder.record(
        server.url, tenant, {"meeting_id": meeting.id, "storage_config": config}, files
    )
    deliver_all(server)
    done = get_recording(server, tenant, rid)
    assert done["status"] == "ERRORED"
    assert done["stop_reason"] == {"reason": "API_CALL", "caller": {"type": "ORGANIZATION"}}
    with database.transaction() as tx:
        stored = live.get(tx, tenant.app_id, rid)
        attempts = for_recording(tx, rid)
    assert stored is not None and "delivery to azure" in (stored.error_reason or "")
    assert all(j.attempts == 1 for j in attempts)  # wrong credentials: no point in retrying
    assert httpx.get(done["download_url"]).content == files["video"].read_bytes()


def test_a_destination_that_is_down_is_retried_until_it_is_back(
    server: LiveServer,
    database: Database,
    tenant: Tenant,
    recorder: Scripted,
    sshd: SshdServer,
    tmp_path: Path,
) -> None:
    # The SFTP server's address refuses connections, then serves again: same config throughout.
    gate = Gate(sshd.port)
    config = sftp_config(sshd, "PASSWORD", port=gate.port)
    files = media(tmp_path)
    meeting = add_meeting(database, tenant.app_id, "down")
    rid = recorder.record(
        server.url, tenant, {"meeting_id": meeting.id, "storage_config": config}, files
    )
    assert server.app.deliver_once() == 2
    with database.transaction() as tx:
        pending = for_recording(tx, rid)
    assert {j.status for j in pending} == {jobs.PENDING}
    assert all("could not connect" in (j.last_error or "") for j in pending)
    assert server.app.deliver_once() == 0  # not due before the backoff
    CLOCK.advance(5_000)
    assert server.app.deliver_once() == 2
    assert get_recording(server, tenant, rid)["status"] == "UPLOADING"
    gate.forward()  # back
    try:
        CLOCK.advance(10_000)
        deliver_all(server)
        done = get_recording(server, tenant, rid)
        assert done["status"] == "UPLOADED"
        got = landed(config, done["output_file_name"], tmp_path)
    finally:
        gate.close()
    assert got == files["video"].read_bytes()


def test_attempts_run_out_and_the_recording_ends_errored(
    server: LiveServer,
    database: Database,
    tenant: Tenant,
    recorder: Scripted,
    tmp_path: Path,
) -> None:
    config = {
        "type": "sftp",
        "host": "127.0.0.1",
        "port": closed_port(),
        "username": "u",
        "auth_method": "PASSWORD",
        "password": "never-reached-pw",
        "path": "x",
    }
    files = media(tmp_path)
    meeting = add_meeting(database, tenant.app_id, "never")
    rid = recorder.record(
        server.url, tenant, {"meeting_id": meeting.id, "storage_config": config}, files
    )
    for _ in range(3):  # delivery_attempts=3
        server.app.deliver_once()
        CLOCK.advance(60_000)
    done = get_recording(server, tenant, rid)
    assert done["status"] == "ERRORED"
    assert httpx.get(done["download_url"]).content == files["video"].read_bytes()
