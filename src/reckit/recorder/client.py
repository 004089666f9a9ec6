"""A client of the recorder API (docs/recorder-api.md), used by the reference recorder and by
anything else that captures media for reckit."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

CHUNK = 1 << 20
RETRIES = 3


class RecorderAPIError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from iter(lambda: f.read(CHUNK), b"")


class RecorderClient:
    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/recorder/v1",
            headers={"authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, upload: Path | None = None, **kwargs: Any) -> Any:
        """Every call of this API may be repeated harmlessly (the server treats replays as
        no-ops), so a dropped connection (a keep-alive closed just as it was reused, a server
        restarting) or a 503 (the store busy) is retried a few times before it counts as a
        failure."""
        for attempt in range(RETRIES + 1):
            if upload is not None:
                kwargs["content"] = _chunks(upload)
            try:
                r = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == RETRIES:
                    raise
                time.sleep(0.2 * 2**attempt)
                continue
            if r.status_code != 503 or attempt == RETRIES:
                break
            # The store was busy (every writer waited its turn too long): nothing was written.
            delay = 1.0
            with contextlib.suppress(ValueError):
                delay = min(max(float(r.headers.get("retry-after", "1")), 0.1), 5.0)
            time.sleep(delay * 2**attempt)
        if r.status_code >= 400:
            raise RecorderAPIError(r.status_code, r.text)
        return r.json()["data"]

    def poll(
        self,
        capacity: int,
        holding: list[str],
        instance: str | None = None,
        page_slots: int | None = None,
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"capacity": capacity, "holding": holding, "instance": instance}
        if page_slots is not None:
            body["page_slots"] = page_slots
        data: list[dict[str, Any]] = self._call("POST", "/poll", json=body)
        return data

    @property
    def server_url(self) -> str:
        """The server's root URL (without ``/recorder/v1``)."""
        return str(self.http.base_url).rstrip("/").removesuffix("/recorder/v1")

    def started(self, recording_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call("POST", f"/recordings/{recording_id}/started")
        return data

    def failed(self, recording_id: str, reason: str) -> None:
        self._call("POST", f"/recordings/{recording_id}/failed", json={"reason": reason})

    def stop(self, recording_id: str, reason: str, crashed: bool = False) -> dict[str, Any]:
        """The recording is over although nobody stopped it (a page recording's page ended it,
        or its browser died): → UPLOADING, and the recorder hands in what it captured."""
        data: dict[str, Any] = self._call(
            "POST",
            f"/recordings/{recording_id}/stop",
            json={"reason": reason, "crashed": crashed},
        )
        return data

    def upload(self, recording_id: str, name: str, path: Path) -> dict[str, Any]:
        data: dict[str, Any] = self._call(
            "PUT",
            f"/recordings/{recording_id}/files/{name}",
            upload=path,
            headers={"x-reckit-sha256": _sha256(path), "content-length": str(path.stat().st_size)},
        )
        return data

    def complete(
        self, recording_id: str, files: dict[str, dict[str, Any]], duration_s: float
    ) -> None:
        self._call(
            "POST",
            f"/recordings/{recording_id}/complete",
            json={"files": files, "duration_s": duration_s},
        )

    # The media plane's side: sessions and who is in them.
    def session_started(
        self,
        app_id: str,
        meeting_id: str,
        media_url: str | None = None,
        session_id: str | None = None,
    ) -> str:
        body = {
            "app_id": app_id,
            "meeting_id": meeting_id,
            "media_url": media_url,
            "session_id": session_id,
        }
        return str(self._call("POST", "/sessions", json=body)["session_id"])

    def joined(
        self,
        session_id: str,
        participant_id: str,
        user_id: str | None = None,
        media_url: str | None = None,
    ) -> None:
        self._call(
            "POST",
            f"/sessions/{session_id}/participants",
            json={"participant_id": participant_id, "user_id": user_id, "media_url": media_url},
        )

    def left(self, session_id: str, participant_id: str) -> None:
        self._call("DELETE", f"/sessions/{session_id}/participants/{participant_id}")

    def session_ended(self, session_id: str) -> None:
        self._call("POST", f"/sessions/{session_id}/end")
