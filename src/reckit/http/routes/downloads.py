"""Downloads of recordings from reckit's bucket, by signed, expiring link (delivery/links.py):
HTTP Range (players seek), the right Content-Type and Content-Length, and Content-Disposition
with the recording's file name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from reckit.delivery.links import Verdict
from reckit.errors import LinkGone, LinkTampered
from reckit.http.context import Context
from reckit.http.ranges import usable_range
from reckit.http.router import Router
from reckit.storage.bucket import check_key


def _settle_range(request: Request, size: int) -> None:
    """Leave the response a Range header it may serve as it is (http/ranges.py): an invalid one
    is dropped, a partly satisfiable one is cut to its satisfiable parts. The response reads
    the same scope."""
    header = request.headers.get("range")
    if header is None:
        return
    usable = usable_range(header, size)
    if usable == header:
        return
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"range"]
    if usable is not None:
        headers.append((b"range", usable.encode("latin-1")))
    request.scope["headers"] = headers


def register(router: Router, ctx: Context) -> None:
    async def download(request: Request, params: dict[str, str]) -> Response:
        key = f"{params['app_id']}/{params['recording_id']}/{params['name']}"
        q = request.query_params
        verdict = ctx.publisher.links.check(key, q.get("e", ""), q.get("s", ""), ctx.clock.now_ms())
        if verdict is Verdict.TAMPERED:
            raise LinkTampered("This download link is not valid: it has been altered.")
        if verdict is Verdict.EXPIRED:
            raise LinkGone(
                "This download link has expired; the recording's copy in reckit's "
                "bucket is kept for a limited time (download_url_expiry)."
            )
        path = ctx.publisher.bucket.served_path(check_key(key))
        if path is None:
            raise LinkGone("This recording's file is no longer in reckit's bucket.")
        _settle_range(request, path.stat().st_size)
        return FileResponse(path, filename=params["name"])

    router.add("GET", "/dl/{app_id}/{recording_id}/{name}", download)
