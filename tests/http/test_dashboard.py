"""The dashboard's static route (http/routes/dashboard.py): its files with the right types, a
strict Content-Security-Policy, revalidated caching, nothing but the package's files, and no
data: every view reads the public API with the signed-in token (the browser tests:
test_dashboard_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import httpx
import pytest

from reckit.http.routes.dashboard import load_assets, policy
from tests.support.inprocess import Routed
from tests.support.live import LiveServer

FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "api.js": "text/javascript",
    "dom.js": "text/javascript",
    "account.js": "text/javascript",
    "recordings.js": "text/javascript",
    "meetings.js": "text/javascript",
    "webhooks.js": "text/javascript",
    "nodes.js": "text/javascript",
    "style.css": "text/css",
    "favicon.svg": "image/svg+xml",
}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=Routed(), timeout=30) as c:
        yield c


def test_every_file_is_served_with_its_type_and_headers(
    server: LiveServer, client: httpx.Client
) -> None:
    for name, media_type in FILES.items():
        r = client.get(f"{server.url}/dashboard/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith(media_type), name
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["etag"]


def test_the_index_loads_modules_only_no_inline_script(
    server: LiveServer, client: httpx.Client
) -> None:
    r = client.get(f"{server.url}/dashboard/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts and all(s.strip() == "" for s in scripts)
    assert 'type="module" src="app.js"' in html
    assert "style=" not in html and " on" not in re.sub(r"<noscript>.*?</noscript>", "", html)
    assert "http://" not in html and "https://" not in html  # no CDN


def test_no_file_names_a_cdn_or_builds_html_from_strings() -> None:
    for name, asset in load_assets().items():
        text = asset.body.decode().replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in text and "http://" not in text, name
        if name.endswith(".js"):
            assert "innerHTML" not in text and "eval(" not in text, name


def test_without_its_slash_it_redirects_and_the_prefix_also_serves(
    server: LiveServer, client: httpx.Client
) -> None:
    r = client.get(f"{server.url}/dashboard")
    assert r.status_code == 308 and r.headers["location"].endswith("/dashboard/")
    assert client.get(f"{server.url}/client/v4/dashboard/app.js").status_code == 200


def test_an_unchanged_file_is_a_304(server: LiveServer, client: httpx.Client) -> None:
    first = client.get(f"{server.url}/dashboard/app.js")
    again = client.get(
        f"{server.url}/dashboard/app.js", headers={"if-none-match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "name", ["nothing.js", "..", "%2e%2e%2fapp.py", "__init__.py", "%2Fetc%2Fpasswd"]
)
def test_anything_else_is_not_found(server: LiveServer, client: httpx.Client, name: str) -> None:
    r = client.get(f"{server.url}/dashboard/{name}")
    assert r.status_code == 404


def test_the_route_serves_no_data_and_ignores_credentials(
    server: LiveServer, client: httpx.Client
) -> None:
    plain = client.get(f"{server.url}/dashboard/")
    with_token = client.get(
        f"{server.url}/dashboard/", headers={"Authorization": "Bearer whatever"}
    )
    assert plain.content == with_token.content


def test_media_may_come_from_the_download_links_origins() -> None:
    csp = policy("https://rec.example.com:8443/base", "")
    assert "media-src 'self' https://rec.example.com:8443;" in csp
    assert "connect-src 'self';" in csp


def test_the_files_are_package_data() -> None:
    folder = resources.files("reckit.http").joinpath("dashboard")
    assert {p.name for p in folder.iterdir()} >= set(FILES)
