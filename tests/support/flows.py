"""The test as a recorder: drives recordings through the recorder API without FFmpeg, for tests
about what happens around capture (lifecycle, delivery, downloads)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from reckit.capture.tokens import create_recorder_token
from reckit.clock import Clock
from reckit.db.engine import Database
from reckit.recorder.client import RecorderClient
from tests.support.live import Tenant


class Scripted(RecorderClient):
    """Holds whatever it was given, and says so on every poll."""

    held: list[str]

    @classmethod
    def connect(cls, url: str, db: Database, clock: Clock, name: str) -> Scripted:
        with db.transaction(write=True) as tx:
            token, _ = create_recorder_token(tx, clock, name)
        client = cls(url, token)
        client.held = []
        return client

    def claim(self, rid: str) -> dict[str, Any]:
        items = self.poll(50, self.held)
        self.held += [i["id"] for i in items if i["id"] not in self.held]
        for item in items:
            if item["id"] == rid:
                return item
        raise AssertionError(f"{rid} was not assigned")

    def beat(self) -> None:
        self.poll(0, self.held)

    def record(self, url: str, t: Tenant, body: dict[str, Any], files: dict[str, Path]) -> str:
        """Start a recording through the public API, capture "files" (name → (role, path)),
        stop it, and hand the files in. The recording's ID."""
        kit = f"{url}/client/v4/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
        with httpx.Client(headers=t.auth, timeout=30) as http:
            r = http.post(kit, json=body)
            assert r.status_code == 200, r.text
            rec = r.json()["data"]
            self.claim(rec["id"])
            self.started(rec["id"])
            r = http.put(f"{kit}/{rec['id']}", json={"action": "stop"})
            assert r.status_code == 200, r.text
        roles = {}
        for role, path in files.items():
            name = rec["output_file_name"] if role == "video" else f"{path.name}"
            self.upload(rec["id"], name, path)
            roles[name] = {"role": role}
        self.complete(rec["id"], roles, 12.5)
        return str(rec["id"])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something true (which is returned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
