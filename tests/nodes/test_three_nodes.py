"""Three `reckit serve` processes on one PostgreSQL database and one S3 bucket (moto), as an
operator runs them behind a load balancer: recordings started through node A, stopped through
node B, listed and downloaded through node C. Node A is killed with SIGKILL while its built-in
recorder captures one recording and its background work delivers another: the capture ends
ERRORED with a reason, the delivery completes on node C once A's lease runs out, the customer's
bucket receives each file once, and the lists and counts agree with the recordings."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from reckit.crypto import generate_key
from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.delivery.repository import KINDS as DELIVERY
from reckit.jobs import repository as jobs
from reckit.jobs.node import load_node_id
from reckit.nodes import repository as nodes
from reckit.recorder.probe import probe
from reckit.recordings import live_repository as live
from tests.support.builders import add_meeting
from tests.support.flows import wait_for
from tests.support.live import Tenant, free_port, new_tenant
from tests.support.pg import new_pg_database
from tests.support.serving import is_up, serve_process
from tests.support.storage_servers import S3_REGION, create_s3_bucket, s3_config
from tests.support.tcp_proxy import Proxy

pytestmark = pytest.mark.slow  # three reckit serve processes, real FFmpeg, a lease to run out

# RECKIT_JOB_LEASE: how long C waits for A's transfer. It must outlast the time from A's claim
# to its kill (C's start: 2-3 s measured on a quiet 2-core machine) with room to spare, and it is
# most of what the test waits: at 30 s the test took 38 s.
LEASE_S = 15
ATTEMPT_S = 12  # below the lease, as the README asks
RECORDER_TIMEOUT_S = 8


@dataclass
class Node:
    name: str
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def node_id(self) -> str:
        return load_node_id(self.data_dir)


@dataclass
class Cluster:
    db: Database
    tenant: Tenant
    env: dict[str, str]
    store: str
    root: Path
    nodes: dict[str, Node]

    def start(self, name: str, *flags: str) -> Node:
        port = free_port()
        data_dir = self.root / name
        process = serve_process(data_dir, port, self.store, self.env, extra=flags)
        node = Node(name, f"http://127.0.0.1:{port}", data_dir, process)
        self.nodes[name] = node
        wait_for(lambda: is_up(node.url), f"node {name} to answer", timeout=120)
        return node

    def kit(self, name: str) -> str:
        t = self.tenant
        base = self.nodes[name].url
        return f"{base}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"

    def get(self, name: str, rid: str) -> dict[str, Any]:
        r = httpx.get(f"{self.kit(name)}/{rid}", headers=self.tenant.auth, timeout=10)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()["data"]
        return data

    def listed(self, name: str, query: str) -> dict[str, Any]:
        r = httpx.get(f"{self.kit(name)}?{query}", headers=self.tenant.auth, timeout=10)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def customer(moto: str) -> Iterator[tuple[Proxy, str]]:
    """The customer's bucket (versioned: every PUT that lands is a version), reached through a
    proxy the test can make hang."""
    bucket = create_s3_bucket(moto)
    s3 = _client(moto)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    where = urlsplit(moto)
    proxy = Proxy((where.hostname or "127.0.0.1", where.port or 80))
    proxy.start()
    try:
        yield proxy, bucket
    finally:
        proxy.cut()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id="x",
        aws_secret_access_key="y",  # moto takes any
    )


@pytest.fixture
def cluster(moto: str, tmp_path: Path, customer: tuple[Proxy, str]) -> Iterator[Cluster]:
    proxy, _ = customer
    own = create_s3_bucket(moto)
    with new_pg_database() as store:
        db = Database(store)
        migrate(db)
        env = {
            "RECKIT_SECRET_KEY": generate_key(),  # every node shares the server key
            "RECKIT_BUCKET_URL": f"s3://{own}/reckit",
            "RECKIT_BUCKET_ENDPOINT": moto,
            "RECKIT_BUCKET_REGION": S3_REGION,
            "RECKIT_BUCKET_ACCESS_KEY": "reckit-nodes-key",
            "RECKIT_BUCKET_SECRET": "reckit-nodes-secret-value",
            "RECKIT_STORAGE_ENDPOINT_AWS": proxy.url,
            "RECKIT_JOB_LEASE": str(LEASE_S),
            "RECKIT_DELIVERY_ATTEMPT_TIMEOUT": str(ATTEMPT_S),
            "RECKIT_DELIVERY_BACKOFF": "1",
            "RECKIT_RECORDER_TIMEOUT": str(RECORDER_TIMEOUT_S),
        }
        made = Cluster(db, new_tenant(db), env, store, tmp_path, {})
        try:
            yield made
        finally:
            for node in made.nodes.values():
                if node.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(node.process.pid, signal.SIGKILL)
                    node.process.wait(30)
            db.close()


def _start(c: Cluster, through: str, storage: dict[str, Any] | None = None) -> str:
    meeting = add_meeting(c.db, c.tenant.app_id, f"three nodes {through}")
    body: dict[str, Any] = {"meeting_id": meeting.id, "video_config": {"width": 160, "height": 120}}
    if storage is not None:
        body["storage_config"] = storage
    r = httpx.post(c.kit(through), json=body, headers=c.tenant.auth, timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def _transfers(c: Cluster, rid: str) -> list[jobs.Job]:
    with c.db.transaction() as tx:
        return jobs.for_subject(tx, rid, DELIVERY)


def test_three_nodes_share_one_store_and_one_bucket_and_survive_a_kill(
    cluster: Cluster, customer: tuple[Proxy, str], moto: str, tmp_path: Path
) -> None:
    c = cluster
    proxy, bucket = customer
    # A records and runs the background work; B serves the API only. C comes later (below),
    # so that A is the node that takes the transfer.
    a = c.start("a")
    c.start("b", "--no-background", "--no-recorder")

    delivered = _start(c, "a", s3_config(bucket, path="customer"))
    wait_for(lambda: c.get("b", delivered)["status"] == "RECORDING", "RECORDING on A")
    proxy.start("stall")  # the customer's storage hangs: A's transfer stays under way
    stop = httpx.put(
        f"{c.kit('b')}/{delivered}",
        json={"action": "stop"},
        headers=c.tenant.auth,
        timeout=10,
    )
    assert stop.status_code == 200 and stop.json()["data"]["status"] == "UPLOADING"
    captured = _start(c, "a")
    wait_for(lambda: c.get("a", captured)["status"] == "RECORDING", "the second capture on A")

    def a_holds_the_transfers() -> bool:
        held = _transfers(c, delivered)
        return bool(held) and all(
            j.status == jobs.PENDING and j.lease_owner == a.node_id for j in held
        )

    wait_for(a_holds_the_transfers, "A to take the transfers to the hanging storage")
    c.start("c", "--no-recorder")
    os.killpg(a.process.pid, signal.SIGKILL)  # A, its FFmpeg and its transfers, at once
    a.process.wait(30)
    proxy.start("forward")  # the customer's storage is back; A's hung attempt died with A

    # The capture A held ends ERRORED with a reason (C's sweep: A's recorder went silent).
    wait_for(
        lambda: (r := c.get("c", captured))["status"] == "ERRORED" and r,
        "the capture A held to end ERRORED",
        timeout=120,
    )
    with c.db.transaction() as tx:
        rec = live.get(tx, c.tenant.app_id, captured)
    assert rec is not None and rec.error_reason is not None
    assert "stopped responding" in rec.error_reason

    # The delivery completes on C once A's lease has run out.
    done = wait_for(
        lambda: (r := c.get("c", delivered))["status"] == "UPLOADED" and r,
        "the delivery to complete on another node",
        timeout=LEASE_S + ATTEMPT_S + 60,
    )
    c_id = c.nodes["c"].node_id
    transfers = _transfers(c, delivered)
    assert transfers and all(j.status == jobs.DONE for j in transfers), transfers
    assert all(j.lease_owner in (None, c_id) for j in transfers), transfers
    # Each file reached the customer's bucket once: one version per key.
    s3 = _client(moto)
    versions = s3.list_object_versions(Bucket=bucket, Prefix="customer/").get("Versions", [])
    keys = [v["Key"] for v in versions]
    assert len(keys) == len(transfers) and len(set(keys)) == len(keys), keys
    assert done["output_file_name"] in {k.rsplit("/", 1)[-1] for k in keys}

    # Lists and counts through C agree with what happened.
    page = c.listed("c", "per_page=25")
    assert page["paging"]["total_count"] == 2
    assert {r["id"]: r["status"] for r in page["data"]} == {
        delivered: "UPLOADED",
        captured: "ERRORED",
    }
    for status, rid in (("UPLOADED", delivered), ("ERRORED", captured)):
        one = c.listed("c", f"status={status}")
        assert one["paging"]["total_count"] == 1 and [r["id"] for r in one["data"]] == [rid]
    assert c.listed("b", "per_page=0")["paging"]["total_count"] == 2

    # Downloaded through C's link (a presigned URL of the shared bucket): playable.
    file = httpx.get(c.get("c", delivered)["download_url"], timeout=30)
    assert file.status_code == 200 and len(file.content) == done["file_size"]
    (tmp_path / "out.mp4").write_bytes(file.content)
    assert probe(tmp_path / "out.mp4").duration_s > 0
    customer_copy = s3.get_object(Bucket=bucket, Key=f"customer/{done['output_file_name']}")
    assert customer_copy["Body"].read() == file.content

    # The registry: B and C alive, A not stopped cleanly (it beats no more).
    with c.db.transaction() as tx:
        known = {n.id: n for n in nodes.all_nodes(tx)}
    assert known[a.node_id].stopped_at is None
    assert "recorder" in known[a.node_id].roles
    assert known[c_id].roles == ("api", "background")
    assert known[c.nodes["b"].node_id].roles == ("api",)
