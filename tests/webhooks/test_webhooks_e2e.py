"""Webhooks end to end: the official SDK drives a live reckit with the built-in reference
recorder (as tests/recorder/test_recorder_e2e.py runs it) and the sender on its own thread; a real
receiver on 127.0.0.1 gets every status of the recording, in order, each signature checked with
Python's ``cryptography`` and with Node's WebCrypto against the key from
/.well-known/webhooks.json."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cloudflare import Cloudflare
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reckit.config import Settings
from tests.support.flows import wait_for
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)
from tests.support.pg import own_database
from tests.support.recorders import builtin_recorder
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.slow  # a real FFmpeg capture and Node: about 4 s a test

VERIFY_JS = Path(__file__).parent.parent / "support" / "webhook_verify.mjs"


@pytest.fixture(scope="module")
def world(
    engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Tenant]]:
    data = tmp_path_factory.mktemp("webhooks-e2e")
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=data,
        sweep_interval_s=0.2,
        webhook_allow_private=True,
    )
    with (
        own_database(engine, data) as database,
        run_server(database, settings) as server,
        builtin_recorder(server, data / "capture", capacity=2, poll_interval_s=0.2),
    ):
        yield server, new_tenant(database)


def node_verifies(public_pem: str, deliveries: list[tuple[bytes, str]]) -> list[list[bool]]:
    node = shutil.which("node")
    assert node is not None, "node is needed for the WebCrypto check"
    payload = {
        "publicKey": public_pem,
        "deliveries": [
            {"body": base64.b64encode(b).decode(), "signature": s} for b, s in deliveries
        ],
    }
    done = subprocess.run(
        [node, str(VERIFY_JS)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    result: list[list[bool]] = json.loads(done.stdout)
    return result


def test_one_recording_sends_every_status_in_order_signed(
    world: tuple[LiveServer, Tenant],
) -> None:
    server, t = world
    with (
        Receiver() as receiver,
        Cloudflare(
            api_token=t.token,
            base_url=server.api,
            max_retries=0,
            http_client=ValidatingClient(),
            _strict_response_validation=True,
        ) as cf,
    ):
        rk = cf.realtime_kit
        hook = rk.webhooks.create_webhook(
            t.app_id,
            account_id=t.account_id,
            name="e2e",
            url=receiver.url,
            events=["recording.statusUpdate"],
        ).data
        meeting = rk.meetings.create(t.app_id, account_id=t.account_id, title="e2e hooks").data
        assert meeting is not None and meeting.id is not None
        rec = rk.recordings.start_recordings(
            t.app_id,
            account_id=t.account_id,
            meeting_id=meeting.id,
            video_config={"codec": "H264", "width": 160, "height": 120},
        ).data
        assert rec is not None

        def get() -> Any:
            return rk.recordings.get_one_recording(
                rec.id, account_id=t.account_id, app_id=t.app_id
            ).data

        wait_for(lambda: get().status == "RECORDING", "RECORDING")
        time.sleep(1.5)
        rk.recordings.pause_resume_stop_recording(
            rec.id, account_id=t.account_id, app_id=t.app_id, action="stop"
        )
        done = wait_for(lambda: (r := get()).status == "UPLOADED" and r, "UPLOADED")
        got = receiver.wait_for(4, timeout=60)
        with httpx.Client(timeout=30) as http:
            key_doc = http.get(f"{server.url}/.well-known/webhooks.json").json()

    bodies = [orjson.loads(r.body) for r in got]
    assert [b["recording"]["status"] for b in bodies] == [
        "INVOKED",
        "RECORDING",
        "UPLOADING",
        "UPLOADED",
    ]
    assert all(b["event"] == "recording.statusUpdate" for b in bodies)
    assert all(b["recording"]["id"] == rec.id for b in bodies)
    assert all(r.headers["rtk-webhook-id"] == hook.id for r in got)
    assert len({r.headers["rtk-uuid"] for r in got}) == 4
    uploaded = bodies[-1]["recording"]
    assert uploaded["downloadUrl"] == done.download_url
    assert done.file_size is not None and uploaded["fileSize"] == str(int(done.file_size))
    assert uploaded["recordingDuration"] == done.recording_duration
    assert uploaded["downloadUrlExpiry"].endswith("Z") and "stoppedTime" in uploaded
    assert bodies[-1]["meeting"]["title"] == "e2e hooks"

    pem = key_doc["data"]["publicKey"]
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    for r in got:
        key.verify(
            base64.b64decode(r.headers["rtk-signature"]),
            r.body,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    verdicts = node_verifies(pem, [(r.body, r.headers["rtk-signature"]) for r in got])
    assert verdicts == [[True, True]] * 4
    # And WebCrypto says no to a body that is not the one signed.
    tampered = got[0].body.replace(b"INVOKED", b"UPLOADED")
    assert node_verifies(pem, [(tampered, got[0].headers["rtk-signature"])]) == [[False, False]]
