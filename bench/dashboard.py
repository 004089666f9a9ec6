"""The dashboard over a million recordings: how long its views take to render in a real
headless Chromium (Selenium, Debian's chromedriver), timed by the page itself.

Seeds ``--recordings`` recordings (default 1,000,000) with reckit's own seeder into a SQLite
store, serves it with reckit on a port (uvicorn in this process, as the tests do), signs in
by the URL's fragment and times, ``--runs`` times each:

- first view: a fresh page load of an app's recordings, from navigation start until the first
  page of rows and the exact total are on screen;
- filtered: status UPLOADED or ERRORED, a title search and page 3, from the hash change until
  the rows are on screen (the API call and the render);
- deep page: page 20,000 of every recording;
- recording: one recording's page.

Prints a markdown table of the median and the worst in milliseconds. Not a test: nothing is
asserted, and the machine's noise shows. ``--keep DIR`` keeps the seeded store (and reuses it
on the next run with the same size); ``--screenshots DIR`` also saves PNGs of the main views
(a real recording made by the built-in recorder for the recording's page), as docs/ has them.

    .venv/bin/python bench/dashboard.py [--recordings 1000000] [--runs 5] [--keep DIR]
        [--screenshots docs]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The test helpers (the browser, the live server, the built-in recorder) live in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from tests.support.browser import chromium, js, missing, ready
from tests.support.live import LiveServer, free_port, new_tenant, run_server
from tests.support.recorders import builtin_recorder

from reckit import seeding
from reckit.auth.tokens import create_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.crypto import load_master_key
from reckit.db import schema
from reckit.db.engine import Database
from reckit.db.schema import migrate


def _store(where: Path, n: int) -> tuple[Database, str, str]:
    """The store (seeded now, or the kept one): its database, account and app."""
    meta = where / f"dashboard-{n}.json"
    db = Database(f"sqlite:///{where / f'dashboard-{n}.sqlite3'}")
    if meta.exists():
        saved = json.loads(meta.read_text())
        return db, saved["account_id"], saved["app_id"]
    migrate(db)
    tenant = new_tenant(db)
    plan = seeding.SeedPlan(
        app_id=tenant.app_id,
        recordings=n,
        meetings=max(1, n // 8),  # what `reckit seed` does
        seed=1,
        now_ms=SystemClock().now_ms(),
        public_url="http://127.0.0.1",
        master_key=load_master_key(where),
    )
    print(f"seeding {n:,} recordings ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    with db.load_journal(), db.transaction(write=True) as tx:
        seeding.seed(tx, plan)
    db.vacuum_analyze(schema.COUNTED_TABLES)
    print(f"seeded in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    meta.write_text(json.dumps({"account_id": tenant.account_id, "app_id": tenant.app_id}))
    return db, tenant.account_id, tenant.app_id


def _data(driver: WebDriver, key: str) -> int:
    return int(js(driver, f"return document.getElementById('main').dataset.{key} || '0'"))


def _hash_view(driver: WebDriver, fragment: str) -> float:
    """Go to a view by its hash: the page's own time for it (the API call and the render)."""
    before = ready(driver)
    js(driver, "location.hash = arguments[0]", fragment)
    ready(driver, before)
    return float(_data(driver, "renderMs"))


def _word(server: LiveServer, account: str, app: str, token: str) -> str:
    """A word of the newest meetings' titles, for the title search."""
    url = f"{server.api}/accounts/{account}/realtime/kit/{app}/recordings"
    body = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60).json()
    titles = [str(r["meeting"]["title"]) for r in body["data"] if r["meeting"].get("title")]
    return next(w for t in titles for w in t.split() if w.isalpha() and len(w) > 3).lower()


def _shoot(driver: WebDriver, path: Path, width: int = 1280, height: int = 900) -> None:
    driver.set_window_size(width, height)
    time.sleep(0.3)
    full = int(js(driver, "return document.documentElement.scrollHeight"))
    driver.set_window_size(width, min(max(height, full + 100), 1800))
    time.sleep(0.3)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    print(f"wrote {path}", file=sys.stderr)


def _real_recording(server: LiveServer, work: Path, account: str, token: str) -> tuple[str, str]:
    """A second app with one real recording made by the built-in recorder: (app, recording)."""
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{server.api}/accounts/{account}/realtime/kit"
    app = httpx.post(f"{base}/apps", headers=auth, json={"name": "Demo"}).json()["data"]["app"]
    api = f"{base}/{app['id']}"
    meeting = httpx.post(f"{api}/meetings", headers=auth, json={"title": "Weekly design review"})
    body = {
        "meeting_id": meeting.json()["data"]["id"],
        "video_config": {"codec": "H264", "width": 640, "height": 360},
        "audio_config": {"codec": "AAC", "channel": "mono", "export_file": True},
    }

    def status() -> str:
        return str(httpx.get(f"{api}/recordings/{rid}", headers=auth).json()["data"]["status"])

    def until(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 90
        while not check() and time.monotonic() < deadline:
            time.sleep(0.2)

    with builtin_recorder(server, work / "capture", capacity=2, poll_interval_s=0.2):
        rid = httpx.post(f"{api}/recordings", headers=auth, json=body).json()["data"]["id"]
        until(lambda: status() == "RECORDING")
        time.sleep(4)
        httpx.put(f"{api}/recordings/{rid}", headers=auth, json={"action": "stop"})
        until(lambda: status() == "UPLOADED")
    return str(app["id"]), str(rid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args()
    if missing():
        sys.exit(f"needs {' '.join(missing())} (apt-get install chromium chromium-driver)")
    where = args.keep or Path(tempfile.mkdtemp(prefix="reckit-bench-dashboard-"))
    where.mkdir(parents=True, exist_ok=True)
    db, account, app = _store(where, args.recordings)
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=where, sweep_interval_s=0)
    timings: dict[str, list[float]] = {}
    try:
        with db.transaction(write=True) as tx:
            token, _ = create_token(tx, SystemClock(), account, "Realtime Admin")
        with run_server(db, settings) as server, chromium() as driver:
            dashboard = f"{server.url}/dashboard/"
            word = _word(server, account, app, token)
            recordings = f"#/apps/{app}/recordings"
            filtered = f"{recordings}?status=UPLOADED%2CERRORED&search={word}&page=3"
            for _ in range(args.runs):
                driver.get("about:blank")
                driver.get(f"{dashboard}#token={token}&account={account}&app={app}")
                ready(driver)
                timings.setdefault("first view (page load)", []).append(_data(driver, "readyAt"))
                timings.setdefault(f"filtered: 2 statuses, '{word}', page 3", []).append(
                    _hash_view(driver, filtered)
                )
                timings.setdefault("deep page: 20,000 of all", []).append(
                    _hash_view(driver, f"{recordings}?page=20000")
                )
                first = js(driver, "return document.querySelector('tbody tr')?.dataset.id")
                timings.setdefault("a recording's page", []).append(
                    _hash_view(driver, f"{recordings}/{first}")
                )
            print(f"\n{args.recordings:,} recordings, {args.runs} runs, SQLite, headless Chromium")
            print()
            print("| view | median ms | worst ms |")
            print("|---|---:|---:|")
            for name, values in timings.items():
                print(f"| {name} | {statistics.median(values):.0f} | {max(values):.0f} |")
            if args.screenshots:
                _screenshots(server, driver, args.screenshots, where, account, token, app, word)
    finally:
        db.close()
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)


def _screenshots(
    server: LiveServer,
    driver: WebDriver,
    out: Path,
    work: Path,
    account: str,
    token: str,
    app: str,
    word: str,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    dashboard = f"{server.url}/dashboard/"
    recordings = f"#/apps/{app}/recordings"
    driver.get("about:blank")
    driver.get(dashboard)
    js(driver, "sessionStorage.clear()")
    driver.get(f"{dashboard}#/signin")
    ready(driver)
    _shoot(driver, out / "dashboard-signin.png", height=620)
    driver.get(f"{dashboard}#token={token}&account={account}&app={app}")
    ready(driver)
    _shoot(driver, out / "dashboard-recordings.png")
    _hash_view(driver, f"{recordings}?status=UPLOADED%2CERRORED&search={word}&page=3")
    _shoot(driver, out / "dashboard-filtered.png")
    demo_app, rid = _real_recording(server, work, account, token)
    _hash_view(driver, f"#/apps/{demo_app}/recordings/{rid}")
    video = driver.find_element(By.ID, "player")
    js(driver, "arguments[0].muted = true; arguments[0].currentTime = 2", video)
    time.sleep(1.5)
    _shoot(driver, out / "dashboard-recording.png")
    _hash_view(driver, f"{recordings}?status=RECORDING%2CPAUSED")
    _shoot(driver, out / "dashboard-phone.png", width=390, height=844)


if __name__ == "__main__":
    main()
