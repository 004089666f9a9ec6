"""reckit's own bucket in S3-compatible storage (RECKIT_BUCKET_URL), against moto on 127.0.0.1:
files go in checked, come out by presigned links (Range included), feed delivery, and expire."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import Database
from tests.support.builders import NOW, add_meeting
from tests.support.flows import Scripted
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.storage_servers import S3_REGION, create_s3_bucket, make_s3
from tests.support.storage_servers_az_sftp import SshdServer

CLOCK = ManualClock(NOW)
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def bucket(moto: str) -> str:
    return create_s3_bucket(moto)


@pytest.fixture(scope="module")
def server(
    database: Database, tmp_path_factory: pytest.TempPathFactory, moto: str, bucket: str
) -> Iterator[LiveServer]:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp_path_factory.mktemp("s3bucket"),
        bucket_url=f"s3://{bucket}/reckit/media",
        # reckit's own credentials (moto accepts any), apart from the customers' in other
        # tests: a presigned link names its access key ID, which is not a secret.
        bucket_endpoint=moto,
        bucket_region=S3_REGION,
        bucket_access_key="RECKITBUCKETKEYID01",
        bucket_secret="reckit-bucket-secret-not-a-customers",
    )
    with run_server(database, settings, CLOCK) as live_server:
        yield live_server


def _get(server: LiveServer, t: Tenant, rid: str) -> dict[str, Any]:
    kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
    data: dict[str, Any] = httpx.get(f"{kit}/{rid}", headers=t.auth).json()["data"]
    return data


def _record(
    server: LiveServer, database: Database, tmp_path: Path, body: dict[str, Any], name: str
) -> tuple[Tenant, str, bytes]:
    t = new_tenant(database)
    video = os.urandom(400_000)
    (tmp_path / "v.mp4").write_bytes(video)
    recorder = Scripted.connect(server.url, database, CLOCK, name)
    meeting = add_meeting(database, t.app_id, "s3 bucket")
    rid = recorder.record(
        server.url, t, {"meeting_id": meeting.id, **body}, {"video": tmp_path / "v.mp4"}
    )
    recorder.close()
    return t, rid, video


def test_files_live_in_s3_and_links_are_presigned(
    server: LiveServer, database: Database, moto: str, bucket: str, tmp_path: Path
) -> None:
    t, rid, video = _record(server, database, tmp_path, {}, "s3-links")
    done = _get(server, t, rid)
    assert done["status"] == "UPLOADED" and done["file_size"] == len(video)
    url = done["download_url"]
    assert url.startswith(moto) and "X-Amz-Signature" in url
    with httpx.Client() as http:
        r = http.get(url)
        assert r.status_code == 200 and r.content == video
        assert done["output_file_name"] in r.headers["content-disposition"]
        part = http.get(url, headers={"range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == video[100:200]
    # Nothing of it on this node's disk: the bucket is S3.
    assert not (server.settings.media_dir).exists() or not any(server.settings.media_dir.rglob("*"))
    key = f"reckit/media/{t.app_id}/{rid}/{done['output_file_name']}"
    s3 = make_s3(moto, bucket=bucket)
    try:
        assert s3.stat(key) is not None
        # Retention deletes the object at expiry; the recording stays listed.
        CLOCK.advance(7 * DAY_MS)
        server.app.sweep_once()
        assert s3.stat(key) is None
    finally:
        s3.close()
    assert _get(server, t, rid)["download_url"] == url


def test_delivery_reads_from_the_s3_bucket(
    server: LiveServer, database: Database, sshd: SshdServer, tmp_path: Path
) -> None:
    config = {
        "type": "sftp",
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "auth_method": "PASSWORD",
        "password": sshd.password,
        "path": str(sshd.root / "from-s3"),
    }
    t, rid, video = _record(server, database, tmp_path, {"storage_config": config}, "s3-sftp")
    while server.app.deliver_once():
        pass
    done = _get(server, t, rid)
    assert done["status"] == "UPLOADED"
    landed = sshd.root / "from-s3" / done["output_file_name"]
    assert landed.read_bytes() == video


def test_a_bad_checksum_leaves_nothing_in_the_bucket(
    server: LiveServer, database: Database, moto: str, bucket: str, tmp_path: Path
) -> None:
    t = new_tenant(database)
    recorder = Scripted.connect(server.url, database, CLOCK, "s3-bad-sum")
    meeting = add_meeting(database, t.app_id, "bad sum")
    kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
    rec = httpx.post(kit, json={"meeting_id": meeting.id}, headers=t.auth).json()["data"]
    recorder.claim(rec["id"])
    r = recorder.http.put(
        f"/recordings/{rec['id']}/files/x.mp4",
        content=b"abc",
        headers={"x-reckit-sha256": "0" * 64},
    )
    assert r.status_code == 400 and "checksum mismatch" in r.json()["error"]["message"]
    s3 = make_s3(moto, bucket=bucket)
    try:
        assert s3.stat(f"reckit/media/{t.app_id}/{rec['id']}/x.mp4") is None
    finally:
        s3.close()
    recorder.close()
