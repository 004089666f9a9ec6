"""Signed, expiring download links and retention, on a live server with a ManualClock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.crypto import load_master_key
from reckit.db.engine import Database
from reckit.recordings import live_repository as live
from reckit.seeding import SeedPlan, seed
from tests.support.builders import NOW, add_meeting
from tests.support.flows import Scripted
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_server,
)

CLOCK = ManualClock(NOW)
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        sweep_interval_s=0,
        data_dir=tmp_path_factory.mktemp("dl"),
        retention_days=7,
    )
    with run_server(database, settings, CLOCK) as live_server:
        yield live_server


@pytest.fixture
def done(
    server: LiveServer, database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Tenant, dict[str, object], bytes, bytes]:
    t = new_tenant(database)
    video, audio = os.urandom(300_000), os.urandom(50_000)
    (tmp_path / "v.mp4").write_bytes(video)
    (tmp_path / "a.m4a").write_bytes(audio)
    recorder = Scripted.connect(server.url, database, CLOCK, f"dl-{request.node.name}")
    meeting = add_meeting(database, t.app_id, "downloads")
    rid = recorder.record(
        server.url,
        t,
        {"meeting_id": meeting.id},
        {"video": tmp_path / "v.mp4", "audio": tmp_path / "a.m4a"},
    )
    recorder.close()
    with ValidatingClient() as http:
        url = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings/{rid}"
        data = http.get(url, headers=t.auth).json()["data"]
    assert data["status"] == "UPLOADED"
    return t, data, video, audio


def test_links_serve_the_files_with_range(
    done: tuple[Tenant, dict[str, object], bytes, bytes],
) -> None:
    _, rec, video, audio = done
    url, audio_url = str(rec["download_url"]), str(rec["audio_download_url"])
    assert rec["file_size"] == len(video)
    expiry = rec["download_url_expiry"]
    assert isinstance(expiry, str) and expiry.endswith("Z")
    with httpx.Client() as http:
        r = http.get(url)
        assert r.status_code == 200 and r.content == video
        assert r.headers["content-type"] == "video/mp4"
        assert r.headers["content-length"] == str(len(video))
        assert f'filename="{rec["output_file_name"]}"' in r.headers["content-disposition"]
        assert r.headers["accept-ranges"] == "bytes"
        part = http.get(url, headers={"range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == video[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(video)}"
        tail = http.get(url, headers={"range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == video[-10:]
        assert http.get(audio_url).content == audio


@pytest.mark.parametrize(
    "header",
    [
        "items=0-1",
        "bytes=5-3",
        "bytes=",
        "bytes=abc",
        "bytes=+1-2",
        "bytes=1-+2",
        "bytes=-",
        "bytes=1-2;x",
        "bytes=\u00b9-2",
        "bytes 0-1",
        "bytes=0-1, 5-3",
        "bytes=0x10-20",
    ],
)
def test_an_unusable_range_is_ignored(
    done: tuple[Tenant, dict[str, object], bytes, bytes], header: str
) -> None:
    """RFC 9110 §14.2: a Range the server cannot use is ignored: 200 and the whole file."""
    _, rec, video, _ = done
    r = httpx.get(str(rec["download_url"]), headers=[(b"range", header.encode("utf-8"))])
    assert r.status_code == 200 and r.content == video, header
    assert "content-range" not in r.headers


def test_ranges_past_the_end(done: tuple[Tenant, dict[str, object], bytes, bytes]) -> None:
    _, rec, video, _ = done
    url, size = str(rec["download_url"]), len(video)
    with httpx.Client() as http:
        # Only the satisfiable part of a range set is served.
        r = http.get(url, headers={"range": f"bytes=10-19, {size + 5}-{size + 9}"})
        assert r.status_code == 206 and r.content == video[10:20]
        # A last-pos past the end is cut at the end.
        r = http.get(url, headers={"range": f"bytes={size - 4}-{size + 100}"})
        assert r.status_code == 206 and r.content == video[-4:]
        # Nothing satisfiable: 416.
        for header in (f"bytes={size}-", f"bytes={size + 1}-{size + 2}", "bytes=-0"):
            assert http.get(url, headers={"range": header}).status_code == 416, header


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_a_tampered_link_is_refused(done: tuple[Tenant, dict[str, object], bytes, bytes]) -> None:
    _, rec, _, _ = done
    url = str(rec["download_url"])
    sig = parse_qs(urlsplit(url).query)["s"][0]
    other_rec = url.replace(str(rec["id"]), "00000000-0000-4000-8000-000000000000")
    with httpx.Client() as http:
        for bad in (
            _with(url, s=("A" if sig[0] != "A" else "B") + sig[1:]),
            _with(url, e=str(int(parse_qs(urlsplit(url).query)["e"][0]) + 1)),
            url.split("?")[0],
            other_rec,
        ):
            r = http.get(bad)
            assert r.status_code == 403, bad
            message = "This download link is not valid: it has been altered."
            assert r.json() == {"success": False, "error": {"code": 403, "message": message}}


def test_expiry_then_retention(
    server: LiveServer, database: Database, done: tuple[Tenant, dict[str, object], bytes, bytes]
) -> None:
    t, rec, _, _ = done
    url = str(rec["download_url"])
    CLOCK.advance(7 * DAY_MS - 1)
    server.app.sweep_once()
    with httpx.Client() as http:
        assert http.get(url).status_code == 200
        CLOCK.advance(1)
        expired = http.get(url)
        assert expired.status_code == 410 and "expired" in expired.json()["error"]["message"]
        with database.transaction() as tx:
            stored = live.get(tx, t.app_id, str(rec["id"]))
        assert stored is not None and stored.files is not None
        paths = [
            server.settings.media_dir / f"{t.app_id}/{rec['id']}/{n}"
            for n in (str(rec["output_file_name"]),)
        ]
        assert all(p.is_file() for p in paths)
        server.app.sweep_once()
        assert not any(p.exists() for p in paths)
        with database.transaction() as tx:
            stored = live.get(tx, t.app_id, str(rec["id"]))
        assert stored is not None and stored.purged_at is not None
    # Still listed, with its expiry, and found by expired=true (decisions.md, §7 item 44).
    with ValidatingClient() as http:
        kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
        page = http.get(kit, params={"expired": "true"}, headers=t.auth).json()
        assert [r["id"] for r in page["data"]] == [rec["id"]]
        assert page["data"][0]["download_url"] == url


def test_seeded_links_are_signed_and_gone(server: LiveServer, database: Database) -> None:
    """Seeded recordings have links like real ones, and, having no media, answer 410."""
    t = new_tenant(database)
    plan = SeedPlan(
        t.app_id, 300, 40, 3, CLOCK.now_ms(), server.url, load_master_key(server.settings.data_dir)
    )
    with database.transaction(write=True) as tx:
        seed(tx, plan)
    with ValidatingClient() as http:
        kit = f"{server.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/recordings"
        items = http.get(kit, params={"per_page": "100"}, headers=t.auth).json()["data"]
    urls = [i["download_url"] for i in items if i["download_url"]]
    assert urls
    with httpx.Client() as http:
        for url in urls[:10]:
            r = http.get(url)
            assert r.status_code == 410, (url, r.text)
