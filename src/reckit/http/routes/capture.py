"""The recorder API (docs/recorder-api.md): recorders' polls, state reports and file uploads,
and the media plane's sessions. Not part of Cloudflare's API: its own prefix, its own tokens.
Finished files are downloaded through ``downloads.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from reckit.bodies import decode, require_uuid
from reckit.capture import bodies, service
from reckit.db.engine import Tx
from reckit.errors import BadRequest
from reckit.http import envelopes
from reckit.http.context import Context, read_body, run_authorized
from reckit.http.router import Router
from reckit.ids import new_uuid
from reckit.sessions.repository import Source

T = TypeVar("T")
BASE = "/recorder/v1"
MAX_FILE_BYTES = 64 * 1024 * 1024 * 1024


def register(
    router: Router, ctx: Context, on_handed_in: Callable[[service.HandedIn], None] | None = None
) -> None:
    """``on_handed_in``: told of each recording's files handed in, once its transaction is
    committed (``/metrics``' capture real-time factor)."""
    r = _Routes(ctx, on_handed_in)
    add = router.add
    add("POST", f"{BASE}/poll", r.poll)
    add("POST", f"{BASE}/recordings/{{recording_id}}/started", r.started)
    add("POST", f"{BASE}/recordings/{{recording_id}}/failed", r.failed)
    add("POST", f"{BASE}/recordings/{{recording_id}}/stop", r.stop)
    add("PUT", f"{BASE}/recordings/{{recording_id}}/files/{{name}}", r.upload)
    add("POST", f"{BASE}/recordings/{{recording_id}}/complete", r.complete)
    add("POST", f"{BASE}/sessions", r.session_started)
    add("POST", f"{BASE}/sessions/{{session_id}}/participants", r.joined)
    add("DELETE", f"{BASE}/sessions/{{session_id}}/participants/{{participant_id}}", r.left)
    add("POST", f"{BASE}/sessions/{{session_id}}/end", r.session_ended)


class _Routes:
    def __init__(
        self, ctx: Context, on_handed_in: Callable[[service.HandedIn], None] | None
    ) -> None:
        self.ctx = ctx
        self.bucket = ctx.publisher.bucket
        self.on_handed_in = on_handed_in

    def _now(self) -> int:
        return self.ctx.clock.now_ms()

    async def _as_recorder(
        self, request: Request, params: dict[str, str], work: Callable[[Tx, str], T]
    ) -> T:
        """``work(tx, recorder_id)`` once the recorder token is good, in a write transaction
        (http/context.py ``run_authorized``)."""
        return await run_authorized(self.ctx, request, params, work, write=True)

    async def poll(self, request: Request, params: dict[str, str]) -> Response:
        body = decode(await read_body(self.ctx, request, params), bodies.PollBody)
        data = await self._as_recorder(
            request,
            params,
            lambda tx, who: service.poll(
                tx, self._now(), who, body.capacity, body.holding, body.instance, body.page_slots
            ),
        )
        return envelopes.ok(data)

    async def started(self, request: Request, params: dict[str, str]) -> Response:
        rid = params["recording_id"]
        data = await self._as_recorder(
            request, params, lambda tx, who: service.started(tx, self._now(), who, rid)
        )
        return envelopes.ok(data)

    async def failed(self, request: Request, params: dict[str, str]) -> Response:
        body = decode(await read_body(self.ctx, request, params), bodies.FailedBody)
        rid = params["recording_id"]
        await self._as_recorder(
            request, params, lambda tx, who: service.failed(tx, self._now(), who, rid, body.reason)
        )
        return envelopes.ok(None)

    async def stop(self, request: Request, params: dict[str, str]) -> Response:
        body = decode(await read_body(self.ctx, request, params), bodies.StopBody)
        rid = params["recording_id"]
        data = await self._as_recorder(
            request,
            params,
            lambda tx, who: service.stopped(tx, self._now(), who, rid, body.reason, body.crashed),
        )
        return envelopes.ok(data)

    async def upload(self, request: Request, params: dict[str, str]) -> Response:
        """The file streams to the bucket; its SHA-256 (header ``x-reckit-sha256``) is checked
        before it appears under its key."""
        rid, name = params["recording_id"], params["name"]

        def open_key(tx: Tx, who: str) -> str:
            return service.file_key(tx, who, rid, name)

        key = await self._as_recorder(request, params, open_key)
        upload = self.bucket.upload(key)
        try:
            async for chunk in request.stream():
                upload.write(chunk)
                if upload.size > MAX_FILE_BYTES:
                    raise BadRequest(f"file must be at most {MAX_FILE_BYTES} bytes")
            # Handed in while this streamed? Then this copy must not replace the file.
            await self._as_recorder(request, params, open_key)
            stored = upload.commit(request.headers.get("x-reckit-sha256"))
        except BaseException:
            upload.abort()
            raise
        return envelopes.ok({"key": stored.key, "size": stored.size, "sha256": stored.sha256})

    async def complete(self, request: Request, params: dict[str, str]) -> Response:
        body = decode(await read_body(self.ctx, request, params), bodies.CompleteBody)
        rid = params["recording_id"]

        def work(tx: Tx, who: str) -> service.HandedIn | None:
            publisher = self.ctx.publisher
            return service.complete(
                tx, self._now(), who, rid, body.files, body.duration_s, publisher
            )

        handed_in = await self._as_recorder(request, params, work)
        if handed_in is not None and self.on_handed_in is not None:
            self.on_handed_in(handed_in)
        return envelopes.ok(None)

    async def session_started(self, request: Request, params: dict[str, str]) -> Response:
        body = decode(await read_body(self.ctx, request, params), bodies.SessionBody)
        meeting_id = require_uuid("meeting_id", body.meeting_id)
        sid = require_uuid("session_id", body.session_id) if body.session_id else new_uuid()
        await self._as_recorder(
            request,
            params,
            lambda tx, who: service.session_started(
                tx, self._now(), body.app_id, meeting_id, sid, body.media_url
            ),
        )
        return envelopes.ok({"session_id": sid})

    async def joined(self, request: Request, params: dict[str, str]) -> Response:
        body = decode(await read_body(self.ctx, request, params), bodies.ParticipantBody)
        sid = params["session_id"]
        source = Source(body.participant_id, body.user_id, body.name, body.media_url)
        await self._as_recorder(
            request,
            params,
            lambda tx, who: service.participant_joined(tx, self._now(), sid, source),
        )
        return envelopes.ok(None)

    async def left(self, request: Request, params: dict[str, str]) -> Response:
        sid, pid = params["session_id"], params["participant_id"]
        await self._as_recorder(
            request, params, lambda tx, who: service.participant_left(tx, self._now(), sid, pid)
        )
        return envelopes.ok(None)

    async def session_ended(self, request: Request, params: dict[str, str]) -> Response:
        sid = params["session_id"]
        await self._as_recorder(
            request, params, lambda tx, who: service.session_ended(tx, self._now(), sid)
        )
        return envelopes.ok(None)
