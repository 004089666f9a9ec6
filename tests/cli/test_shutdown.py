"""SIGTERM to `reckit serve` while its built-in recorder captures: the node takes nothing new,
the capture is finalised and handed in while the server still serves, and the recording ends
UPLOADED with a playable file; the process exits 0 and the registry shows the node stopped."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from reckit.db.engine import Database
from reckit.db.schema import migrate
from reckit.nodes import repository as nodes
from reckit.recorder.probe import probe
from reckit.recordings import live_repository as live
from tests.support.builders import add_meeting
from tests.support.flows import wait_for
from tests.support.live import Tenant, free_port, new_tenant
from tests.support.serving import is_up, serve_process

pytestmark = pytest.mark.slow  # reckit serve as a process, real FFmpeg


def _kit(url: str, t: Tenant) -> str:
    return f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"


def _get(url: str, t: Tenant, rid: str) -> dict[str, Any]:
    r = httpx.get(f"{_kit(url, t)}/{rid}", headers=t.auth, timeout=10)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def test_sigterm_during_a_capture_hands_the_recording_in(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    store = f"sqlite:///{tmp_path / 'reckit.sqlite3'}"
    db = Database(store)
    migrate(db)
    t = new_tenant(db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"RECKIT_SHUTDOWN_GRACE": "60"}
    process = serve_process(data_dir, port, store, env)
    try:
        wait_for(lambda: is_up(url), "reckit serve to answer")
        meeting = add_meeting(db, t.app_id, "shutdown")
        body = {"meeting_id": meeting.id, "video_config": {"width": 160, "height": 120}}
        started = httpx.post(_kit(url, t), json=body, headers=t.auth, timeout=10)
        assert started.status_code == 200, started.text
        rid = started.json()["data"]["id"]
        wait_for(lambda: _get(url, t, rid)["status"] == "RECORDING", "RECORDING")
        # A couple of seconds of media before the signal.
        wait_for(
            lambda: any((data_dir / "capture" / rid).rglob("*.mkv")),
            "the capture to write its first segment",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    with db.transaction() as tx:
        rec = live.get(tx, t.app_id, rid)
        [node] = nodes.all_nodes(tx)
    assert rec is not None and rec.status == "UPLOADED", rec
    assert rec.error_reason is None and rec.recording_duration is not None
    assert node.stopped_at is not None and node.recorder_in_use == 0
    assert not any((data_dir / "capture").iterdir())  # nothing left to carry on

    # The same node started again serves the file: whole and playable.
    again = serve_process(data_dir, port, store)
    try:
        wait_for(lambda: is_up(url), "reckit serve to answer again")
        done = _get(url, t, rid)
        assert done["status"] == "UPLOADED" and done["download_url"]
        file = httpx.get(done["download_url"], timeout=30)
        assert file.status_code == 200
        (tmp_path / "out.mp4").write_bytes(file.content)
        p = probe(tmp_path / "out.mp4")
        assert (p.video_codec, p.audio_codec) == ("h264", "aac") and p.duration_s > 0
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(60)
        db.close()
