"""The dashboard (``/dashboard/``): static HTML, CSS and JavaScript modules shipped in the package
(``http/dashboard/``), served as they are. The pages read everything through the public API
with the token the person signs in with (docs/dashboard.md): this route serves no data, takes
no credentials and knows no account.

Served with a strict Content-Security-Policy (scripts from this origin only, no inline script
or style), ``no-cache`` with an ETag (a new version of reckit is picked up at once, an unchanged
file costs a 304), and ``nosniff``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from reckit.http import envelopes
from reckit.http.context import Context
from reckit.http.router import Router

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file of the package's ``http/dashboard`` folder (flat), by name."""
    assets: dict[str, Asset] = {}
    folder = resources.files("reckit.http").joinpath("dashboard")
    for entry in folder.iterdir():
        name = entry.name
        suffix = name[name.rfind(".") :] if "." in name else ""
        if not entry.is_file() or suffix not in TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        assets[name] = Asset(body, TYPES[suffix], etag)
    return assets


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def policy(*media_urls: str) -> str:
    """Scripts, styles, requests and media from this origin only; media also from the origins
    download links name (the server's public URL, which may name another host than the one the
    browser used; RECKIT_BUCKET_URL's)."""
    media = " ".join(dict.fromkeys(x for x in ("'self'", *map(_origin, media_urls)) if x))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; media-src {media}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def register(router: Router, ctx: Context) -> None:
    assets = load_assets()
    headers = {
        "Content-Security-Policy": policy(ctx.settings.base_url, ctx.settings.bucket_url),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }

    def serve(name: str, request: Request) -> Response:
        asset = assets.get(name)
        if asset is None:
            return envelopes.no_route()
        h = dict(headers, ETag=asset.etag)
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=h)
        return Response(asset.body, media_type=asset.media_type, headers=h)

    async def index(request: Request, params: dict[str, str]) -> Response:
        # Relative URLs (app.js, style.css) resolve under /dashboard/ only with its slash.
        if not request.url.path.endswith("/"):
            return RedirectResponse(request.url.path + "/", status_code=308)
        return serve("index.html", request)

    async def asset(request: Request, params: dict[str, str]) -> Response:
        return serve(params["name"], request)

    router.add("GET", "/dashboard", index)
    router.add("GET", "/dashboard/{name}", asset)
