"""The dashboard in a real headless Chromium (Selenium, Debian's chromedriver) against a live
reckit with the built-in recorder making real media: sign-in, filters and the exact total,
paging with back and forward, playing a recording, stopping one and watching it reach UPLOADED
without a reload, and what no token, a wrong one, another account's and a revoked one see."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from reckit import seeding
from reckit.auth.tokens import create_token, revoke_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.crypto import load_master_key
from reckit.nodes.registry import NodeRegistry
from tests.support.browser import chromium, js, missing, ready, wait_until
from tests.support.flows import Scripted, wait_for
from tests.support.live import LiveServer, Tenant, free_port, new_tenant, run_server
from tests.support.pg import own_database
from tests.support.recorders import builtin_recorder

pytestmark = [
    pytest.mark.slow,  # a browser, a live server and real FFmpeg captures
    pytest.mark.skipif(bool(missing()), reason=f"not installed: {' '.join(missing())}"),
]

SEEDED = 120


@dataclass
class World:
    # Two servers: a quiet one (no recorder, no timers: the seeded recordings never change
    # under the list tests) and one whose built-in recorder records.
    quiet: LiveServer
    server: LiveServer
    seeded: Tenant  # on quiet: an app with SEEDED synthetic recordings
    other: Tenant  # on quiet: another account
    live: Tenant  # on server: an app the built-in recorder records for

    def on(self, t: Tenant | None) -> LiveServer:
        quiet = t is None or t.app_id in (self.seeded.app_id, self.other.app_id)
        return self.quiet if quiet else self.server

    def api(self, t: Tenant) -> str:
        return f"{self.on(t).api}/accounts/{t.account_id}/realtime/kit/{t.app_id}"

    def list(self, t: Tenant, **query: Any) -> dict[str, Any]:
        r = httpx.get(f"{self.api(t)}/recordings", params=query, headers=t.auth, timeout=30)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def dashboard(self, fragment: str = "", t: Tenant | None = None) -> str:
        return f"{self.on(t).url}/dashboard/{fragment}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    quiet_data = tmp_path_factory.mktemp("dashboard-seeded")
    data = tmp_path_factory.mktemp("dashboard-live")
    quiet_settings = Settings(
        host="127.0.0.1", port=free_port(), data_dir=quiet_data, sweep_interval_s=0
    )
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=data,
        sweep_interval_s=0.2,
        webhook_allow_private=True,  # the webhook test's URL is on this machine
    )
    with (
        own_database("sqlite", quiet_data) as quiet_db,
        run_server(quiet_db, quiet_settings) as quiet,
        own_database("sqlite", data) as db,
        run_server(db, settings) as server,
        builtin_recorder(server, data / "capture", capacity=4, poll_interval_s=0.2),
    ):
        seeded = new_tenant(quiet_db)
        plan = seeding.SeedPlan(
            seeded.app_id,
            SEEDED,
            12,
            7,
            SystemClock().now_ms(),
            quiet_settings.base_url,
            load_master_key(quiet_settings.data_dir, quiet_settings.secret_key),
        )
        with quiet_db.transaction(write=True) as tx:
            seeding.seed(tx, plan)
        yield World(quiet, server, seeded, new_tenant(quiet_db), new_tenant(db))


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def driver(browser: WebDriver, world: World) -> Iterator[WebDriver]:
    """A fresh tab state: nothing signed in (sessionStorage is per tab and origin)."""
    for origin in (world.quiet, world.server):
        browser.get(f"{origin.url}/dashboard/#/signin")
        js(browser, "sessionStorage.clear()")
    browser.get("about:blank")
    yield browser
    problems = [
        e["message"]
        for e in browser.get_log("browser")  # type: ignore[attr-defined]
        if e["level"] == "SEVERE" and "Content Security Policy" in e["message"]
    ]
    assert problems == []


def sign_in(driver: WebDriver, world: World, t: Tenant, app: bool = True) -> None:
    fragment = f"#token={t.token}&account={t.account_id}" + (f"&app={t.app_id}" if app else "")
    driver.get(world.dashboard(fragment, t))
    ready(driver)


def main_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "main").text)


def alert_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "alert").text)


def rows(driver: WebDriver) -> list[dict[str, str]]:
    """The recordings table's rows, read in one script (no element goes stale half-way)."""
    found: list[dict[str, str]] = js(
        driver,
        """return [...document.querySelectorAll('table.recordings tbody tr[data-id]')].map(
            tr => ({id: tr.dataset.id, title: tr.cells[1].textContent,
                    status: tr.cells[2].textContent}))""",
    )
    return found


def total(driver: WebDriver) -> int:
    return int(driver.find_element(By.ID, "total").get_attribute("data-total") or -1)


def api_calls(driver: WebDriver) -> list[str]:
    names = js(driver, "return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if "/realtime/kit/" in n]


# -- sign-in ----------------------------------------------------------------------------------


def test_sign_in_from_the_fragment_opens_the_app_and_drops_the_token(
    driver: WebDriver, world: World
) -> None:
    t = world.seeded
    sign_in(driver, world, t)
    assert t.token not in driver.current_url
    assert driver.current_url.endswith(f"#/apps/{t.app_id}/recordings")
    assert js(driver, "return sessionStorage.getItem('reckit.token')") == t.token
    assert js(driver, "return localStorage.length") == 0
    requested = js(driver, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert requested and not any(t.token in url for url in requested)
    # Under /client/v4/ too (every route is), the API is reached at the same place.
    driver.get(f"{world.quiet.url}/client/v4/dashboard/#/apps/{t.app_id}/recordings")
    ready(driver)
    assert total(driver) == SEEDED
    driver.get(world.dashboard(f"#/apps/{t.app_id}/recordings"))
    ready(driver)
    assert total(driver) == SEEDED == world.list(t)["paging"]["total_count"]
    assert len(rows(driver)) == 20
    # Reload: still signed in (this tab), same view.
    driver.refresh()
    ready(driver)
    assert total(driver) == SEEDED


def test_sign_in_with_the_form(driver: WebDriver, world: World) -> None:
    t = world.seeded
    driver.get(world.dashboard())
    ready(driver)
    driver.find_element(By.ID, "signin-account").send_keys(t.account_id)
    driver.find_element(By.ID, "signin-token").send_keys(t.token)
    driver.find_element(By.ID, "signin-token").submit()
    wait_until(lambda: "Apps" in driver.find_element(By.TAG_NAME, "h1").text, message="apps")
    wait_until(lambda: t.app_id in main_text(driver), message="the app listed")
    driver.find_element(By.LINK_TEXT, "test app").click()
    wait_until(lambda: rows(driver), message="recordings")
    assert total(driver) == SEEDED


def test_a_fragment_without_the_account_asks_for_it(driver: WebDriver, world: World) -> None:
    t = world.seeded
    driver.get(world.dashboard(f"#token={t.token}&app={t.app_id}"))
    wait_until(lambda: driver.find_elements(By.ID, "signin-account"), message="the form")
    assert t.token not in driver.current_url
    assert driver.find_element(By.ID, "signin-token").get_attribute("value") == t.token
    assert js(driver, "return sessionStorage.getItem('reckit.token')") is None
    driver.find_element(By.ID, "signin-account").send_keys(t.account_id)
    driver.find_element(By.ID, "signin-account").submit()
    wait_until(lambda: rows(driver), message="the app's recordings")
    assert driver.current_url.endswith(f"#/apps/{t.app_id}/recordings")


# -- the list ---------------------------------------------------------------------------------


def test_filter_by_status_and_search_by_title(driver: WebDriver, world: World) -> None:
    t = world.seeded
    everything = world.list(t, per_page=100)["data"]
    word = max(
        (w for r in everything for w in r["meeting"]["title"].split() if w.isalpha()),
        key=lambda w: sum(w.lower() in r["meeting"]["title"].lower() for r in everything),
    )
    sign_in(driver, world, t)
    before = ready(driver)
    for status in ("UPLOADED", "ERRORED"):
        driver.find_element(By.CSS_SELECTOR, f"input[name=status][value={status}]").click()
    driver.find_element(By.ID, "f-search").send_keys(word.lower())
    driver.find_element(By.ID, "f-apply").click()
    ready(driver, before)
    expected = world.list(t, status="UPLOADED,ERRORED", search=word.lower(), per_page=20)
    assert expected["paging"]["total_count"] > 0
    assert total(driver) == expected["paging"]["total_count"]
    shown = rows(driver)
    assert [r["id"] for r in shown] == [r["id"] for r in expected["data"]]
    assert all(r["status"] in ("UPLOADED", "ERRORED") for r in shown)
    assert all(word.lower() in r["title"].lower() for r in shown)
    assert "status=UPLOADED%2CERRORED" in driver.current_url
    # The URL holds the view: a reload shows the same rows.
    driver.refresh()
    ready(driver)
    assert [r["id"] for r in rows(driver)] == [r["id"] for r in expected["data"]]
    checked = driver.find_elements(By.CSS_SELECTOR, "input[name=status]:checked")
    assert sorted(c.get_attribute("value") or "" for c in checked) == ["ERRORED", "UPLOADED"]


def test_go_to_page_3_and_back(driver: WebDriver, world: World) -> None:
    t = world.seeded
    pages = [[r["id"] for r in world.list(t, per_page=20, page_no=n)["data"]] for n in (1, 2, 3)]
    sign_in(driver, world, t)
    assert [r["id"] for r in rows(driver)] == pages[0]
    for n in (2, 3):
        seen = ready(driver)
        driver.find_element(By.LINK_TEXT, "Next").click()
        ready(driver, seen)
        assert [r["id"] for r in rows(driver)] == pages[n - 1]
    assert "Showing 41\u201360 of 120" in main_text(driver)
    driver.back()
    wait_until(lambda: [r["id"] for r in rows(driver)] == pages[1], message="page 2 again")
    driver.back()
    wait_until(lambda: [r["id"] for r in rows(driver)] == pages[0], message="page 1 again")
    driver.forward()
    driver.forward()
    wait_until(lambda: [r["id"] for r in rows(driver)] == pages[2], message="page 3 again")
    # The page box takes a number too.
    seen = ready(driver)
    box = driver.find_element(By.ID, "p-page")
    box.clear()
    box.send_keys("6")
    box.submit()
    ready(driver, seen)
    assert [r["id"] for r in rows(driver)] == [
        r["id"] for r in world.list(t, per_page=20, page_no=6)["data"]
    ]


def test_sort_order_and_the_expired_filter(driver: WebDriver, world: World) -> None:
    t = world.seeded
    sign_in(driver, world, t)
    seen = ready(driver)
    driver.find_element(By.CSS_SELECTOR, "#f-sort option[value=ASC]").click()
    driver.find_element(By.CSS_SELECTOR, "#f-expired option[value=true]").click()
    driver.find_element(By.ID, "f-apply").click()
    ready(driver, seen)
    expected = world.list(t, sort_order="ASC", expired="true")
    assert total(driver) == expected["paging"]["total_count"]
    assert [r["id"] for r in rows(driver)] == [r["id"] for r in expected["data"]]


def test_time_range_and_meeting_filters_by_keyboard(driver: WebDriver, world: World) -> None:
    t = world.seeded
    everything = world.list(t, per_page=100, sort_order="ASC")["data"]
    start, end = everything[10]["invoked_time"], everything[60]["invoked_time"]
    meeting = everything[30]["meeting"]["id"]
    sign_in(driver, world, t)
    seen = ready(driver)
    # datetime-local takes its value in the page's own format (UTC here, to the second).
    js(
        driver,
        "document.getElementById('f-start').value = arguments[0];"
        "document.getElementById('f-end').value = arguments[1];",
        start[:19],
        end[:19],
    )
    box = driver.find_element(By.ID, "f-search")
    box.click()
    box.send_keys(Keys.ENTER)  # Enter in any field applies the filters
    ready(driver, seen)
    expected = world.list(t, start_time=start[:19] + "Z", end_time=end[:19] + "Z")
    assert total(driver) == expected["paging"]["total_count"] > 0
    assert [r["id"] for r in rows(driver)] == [r["id"] for r in expected["data"]]
    seen = ready(driver)
    driver.find_element(By.ID, "f-meeting").send_keys(meeting, Keys.ENTER)
    ready(driver, seen)
    expected = world.list(
        t, start_time=start[:19] + "Z", end_time=end[:19] + "Z", meeting_id=meeting
    )
    assert total(driver) == expected["paging"]["total_count"]
    assert [r["id"] for r in rows(driver)] == [r["id"] for r in expected["data"]]
    # Clear: everything again.
    seen = ready(driver)
    driver.find_element(By.ID, "f-clear").click()
    ready(driver, seen)
    assert total(driver) == SEEDED


# -- one recording: play it, stop it ----------------------------------------------------------


def start(world: World, t: Tenant, title: str) -> str:
    api = world.api(t)
    meeting = httpx.post(f"{api}/meetings", headers=t.auth, json={"title": title}).json()
    body = {
        "meeting_id": meeting["data"]["id"],
        "video_config": {"codec": "H264", "width": 320, "height": 240},
        "audio_config": {"codec": "AAC", "channel": "mono", "export_file": True},
    }
    r = httpx.post(f"{api}/recordings", headers=t.auth, json=body, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def status_of(world: World, t: Tenant, rid: str) -> str:
    r = httpx.get(f"{world.api(t)}/recordings/{rid}", headers=t.auth, timeout=30)
    return str(r.json()["data"]["status"])


def shown_status(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "rec-status").get_attribute("data-status"))


def test_stop_a_running_recording_and_watch_it_reach_uploaded(
    driver: WebDriver, world: World
) -> None:
    t = world.live
    rid = start(world, t, "Live stop")
    sign_in(driver, world, t)
    driver.find_element(By.LINK_TEXT, rid).click()
    wait_until(lambda: driver.find_elements(By.ID, "rec-status"), message="the recording page")
    js(driver, "window.notReloaded = true")
    # INVOKED → RECORDING as the recorder claims it, with no reload.
    wait_until(lambda: shown_status(driver) == "RECORDING", 30, "RECORDING shown")
    time.sleep(2)  # a few seconds of media
    driver.find_element(By.ID, "action-stop").click()
    wait_until(lambda: shown_status(driver) == "UPLOADED", 60, "UPLOADED shown")
    assert js(driver, "return window.notReloaded") is True
    assert status_of(world, t, rid) == "UPLOADED"
    assert driver.find_elements(By.ID, "player")
    assert not driver.find_elements(By.ID, "action-stop")


def test_open_a_recording_and_play_it(driver: WebDriver, world: World) -> None:
    t = world.live
    rid = start(world, t, "Play me")
    api = world.api(t)
    wait_for(lambda: status_of(world, t, rid) == "RECORDING", "RECORDING", 30)
    time.sleep(3)
    httpx.put(f"{api}/recordings/{rid}", headers=t.auth, json={"action": "stop"}, timeout=30)
    wait_for(lambda: status_of(world, t, rid) == "UPLOADED", "UPLOADED", 60)
    sign_in(driver, world, t)
    driver.find_element(By.ID, "f-search").send_keys("Play me")
    seen = ready(driver)
    driver.find_element(By.ID, "f-apply").click()
    ready(driver, seen)
    assert [r["id"] for r in rows(driver)] == [rid]
    driver.find_element(By.LINK_TEXT, rid).click()
    video = wait_until(lambda: driver.find_elements(By.ID, "player"), message="the player")[0]
    text = main_text(driver)
    assert "link valid until" in text and "expires in" in text
    assert "Play me" in text  # the meeting's title
    assert "Audio" in text  # export_file: the audio file too
    js(driver, "arguments[0].muted = true; return arguments[0].play()", video)
    duration = wait_until(
        lambda: js(driver, "return arguments[0].duration", video), 30, "a duration"
    )
    assert 2 <= float(duration) < 60
    first = wait_until(lambda: js(driver, "return arguments[0].currentTime", video), 30, "playing")
    wait_until(
        lambda: js(driver, "return arguments[0].currentTime", video) > first + 0.5,
        30,
        "currentTime advancing",
    )
    # Seeking works (downloads serve Range).
    js(driver, "arguments[0].currentTime = 1.5", video)
    wait_until(lambda: js(driver, "return !arguments[0].seeking", video), 30, "seeked")
    assert js(driver, "return arguments[0].error", video) is None


def shown_waiting(driver: WebDriver) -> str:
    """The recording page's waiting reason, or "" while it is hidden."""
    box = driver.find_elements(By.ID, "rec-waiting")
    return str(box[0].text) if box and box[0].is_displayed() else ""


def test_a_waiting_recording_says_why_and_the_nodes_view_lists_the_node(
    driver: WebDriver, world: World
) -> None:
    t = world.other  # on the quiet server: nothing claims its recordings
    node = NodeRegistry(
        world.quiet.db,
        SystemClock(),
        "dashboard-test-node",
        ("api", "recorder"),
        url="http://10.1.2.3:8787",
        recorder_capacity=2,
        in_use=lambda: 2,
    )
    node.start()
    node.beat_once()  # its slots in use, at once rather than in 5 s
    rid = start(world, t, "Waits for a recorder")
    try:
        sign_in(driver, world, t)
        seen = ready(driver)
        driver.get(world.dashboard(f"#/apps/{t.app_id}/recordings/{rid}", t))
        seen = ready(driver, seen)
        reason = wait_until(lambda: shown_waiting(driver), message="the waiting reason")
        assert "every built-in recorder is busy (2 of 2 slots in use)" in reason
        assert "ends ERRORED if no recorder claims it within 120 s" in reason
        assert shown_status(driver) == "INVOKED"
        # The nodes view, from the navigation by keyboard.
        driver.find_element(By.LINK_TEXT, "Nodes").send_keys(Keys.ENTER)
        seen = ready(driver, seen)
        assert driver.switch_to.active_element.text == "Nodes"  # the heading has the focus
        row = driver.find_element(By.CSS_SELECTOR, 'tr[data-node="dashboard-test-node"]')
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        assert cells[:4] == ["dashboard-test-node", "up", "api, recorder", "2 of 2"]
        assert cells[4].split()[0].isdigit()
        waiting = driver.find_element(By.ID, "nodes-waiting").text
        assert "1 recording of this app waits for a recorder" in waiting
        assert "1: every built-in recorder is busy (2 of 2 slots in use)" in waiting
        assert "10.1.2.3" not in driver.page_source
        # Back on the recording, a recorder claims it: the reason goes, with no reload.
        driver.back()
        ready(driver, seen)
        wait_until(lambda: shown_waiting(driver), message="the waiting reason again")
        js(driver, "window.notReloaded = true")
        recorder = Scripted.connect(
            world.quiet.url, world.quiet.db, SystemClock(), "dashboard-claimer"
        )
        claimed = recorder.poll(1, [])
        recorder.close()
        assert [a["id"] for a in claimed] == [rid]
        wait_until(lambda: shown_waiting(driver) == "", message="the reason gone once claimed")
        assert shown_status(driver) == "INVOKED"
        assert js(driver, "return window.notReloaded") is True
    finally:
        node.stop()
        httpx.put(f"{world.api(t)}/recordings/{rid}", headers=t.auth, json={"action": "stop"})


def test_a_meeting_page_starts_a_recording(driver: WebDriver, world: World) -> None:
    t = world.live
    api = world.api(t)
    meeting = httpx.post(f"{api}/meetings", headers=t.auth, json={"title": "From the UI"})
    mid = meeting.json()["data"]["id"]
    sign_in(driver, world, t)
    driver.find_element(By.LINK_TEXT, "Meetings").click()
    wait_until(lambda: driver.find_elements(By.LINK_TEXT, "From the UI"), message="listed")
    driver.find_element(By.LINK_TEXT, "From the UI").click()
    wait_until(lambda: driver.find_elements(By.ID, "start-recording"), message="meeting page")
    driver.find_element(By.ID, "start-recording").click()
    wait_until(lambda: driver.find_elements(By.ID, "rec-status"), message="its recording")
    made = world.list(t, meeting_id=mid)["data"]
    assert len(made) == 1 and made[0]["id"] in driver.current_url
    wait_until(lambda: driver.find_elements(By.ID, "action-stop"), message="stop button")
    driver.find_element(By.ID, "action-stop").click()
    wait_until(lambda: shown_status(driver) in ("UPLOADED", "ERRORED"), 60, "the recording ended")


def test_webhooks_create_edit_and_deliveries(driver: WebDriver, world: World) -> None:
    t = new_tenant(world.server.db)
    sign_in(driver, world, t)
    driver.find_element(By.LINK_TEXT, "Webhooks").click()
    wait_until(lambda: driver.find_elements(By.ID, "w-name"), message="the new webhook form")
    driver.find_element(By.ID, "w-name").send_keys("ops")
    driver.find_element(By.ID, "w-url").send_keys(f"http://127.0.0.1:{free_port()}/hook")
    driver.find_element(By.ID, "w-name").submit()
    wait_until(lambda: "Webhook created." in alert_text(driver), message="created")
    wait_until(lambda: driver.find_element(By.TAG_NAME, "h1").text == "ops", message="its page")
    hooks = httpx.get(f"{world.api(t)}/webhooks", headers=t.auth).json()["data"]
    assert [(w["name"], w["events"]) for w in hooks] == [("ops", ["recording.statusUpdate"])]
    # Edit: the name, and one more event.
    name = driver.find_element(By.ID, "w-name")
    name.clear()
    name.send_keys("ops-renamed")
    driver.find_element(By.CSS_SELECTOR, "input[name=events][value='meeting.ended']").click()
    driver.find_element(By.ID, "w-name").submit()
    wait_until(lambda: "Webhook saved." in alert_text(driver), message="saved")
    hook = httpx.get(f"{world.api(t)}/webhooks/{hooks[0]['id']}", headers=t.auth).json()["data"]
    assert hook["name"] == "ops-renamed"
    assert sorted(hook["events"]) == ["meeting.ended", "recording.statusUpdate"]
    # A recording's status change makes a delivery; the webhook's page lists it.
    rid = start(world, t, "Hooked")
    httpx.put(f"{world.api(t)}/recordings/{rid}", headers=t.auth, json={"action": "stop"})
    driver.refresh()
    wait_until(lambda: "recording.statusUpdate" in main_text(driver), message="a delivery listed")
    driver.find_element(By.LINK_TEXT, "← Webhooks").click()
    wait_until(lambda: driver.find_elements(By.LINK_TEXT, "ops-renamed"), message="listed")


# -- who sees what ----------------------------------------------------------------------------


def test_a_wrong_token_shows_a_clear_message(driver: WebDriver, world: World) -> None:
    t = world.seeded
    driver.get(world.dashboard(f"#token=wrong-{t.token[6:]}&account={t.account_id}"))
    wait_until(lambda: "not accepted" in alert_text(driver), message="the message")
    assert "wrong, or it has been revoked" in alert_text(driver)
    assert driver.find_elements(By.ID, "signin-token")
    assert not rows(driver)
    assert js(driver, "return sessionStorage.getItem('reckit.token')") is None
    # The form says the same.
    driver.find_element(By.ID, "signin-account").send_keys(t.account_id)
    driver.find_element(By.ID, "signin-token").send_keys("not-a-token")
    driver.find_element(By.ID, "signin-token").submit()
    wait_until(lambda: "not accepted" in alert_text(driver), message="the form's message")


def test_no_token_sees_nothing_and_asks_no_data(driver: WebDriver, world: World) -> None:
    t = world.seeded
    driver.get(world.dashboard(f"#/apps/{t.app_id}/recordings"))
    ready(driver)
    assert driver.find_elements(By.ID, "signin-token")
    assert "Sign in" in alert_text(driver)
    assert not rows(driver)
    assert api_calls(driver) == []


def test_another_accounts_token_sees_nothing_of_this_account(
    driver: WebDriver, world: World
) -> None:
    mine, other = world.seeded, world.other
    ids = [r["id"] for r in world.list(mine)["data"]]
    driver.get(world.dashboard(f"#token={other.token}&account={mine.account_id}&app={mine.app_id}"))
    wait_until(lambda: "belongs to another account" in alert_text(driver), message="403 message")
    assert not rows(driver)
    assert not any(i in driver.page_source for i in ids)
    # Its own account, with this account's app in the URL: not found, still nothing shown.
    driver.get(world.dashboard(f"#token={other.token}&account={other.account_id}"))
    ready(driver)
    driver.get(world.dashboard(f"#/apps/{mine.app_id}/recordings"))
    wait_until(lambda: "Not found" in alert_text(driver), message="404 message")
    assert not any(i in driver.page_source for i in ids)


def test_a_revoked_token_is_signed_out(driver: WebDriver, world: World) -> None:
    t = world.seeded
    with world.quiet.db.transaction(write=True) as tx:
        token, token_id = create_token(tx, SystemClock(), t.account_id, "Realtime Admin")
    driver.get(world.dashboard(f"#token={token}&account={t.account_id}&app={t.app_id}"))
    ready(driver)
    assert rows(driver)
    with world.quiet.db.transaction(write=True) as tx:
        assert revoke_token(tx, SystemClock(), token_id)
    driver.refresh()
    wait_until(lambda: "not accepted" in alert_text(driver), message="401 message")
    assert not rows(driver)
    assert js(driver, "return sessionStorage.getItem('reckit.token')") is None


def test_readable_on_a_phone(driver: WebDriver, world: World) -> None:
    t = world.seeded
    driver.set_window_size(390, 844)
    try:
        sign_in(driver, world, t)
        width = js(driver, "return document.documentElement.scrollWidth")
        assert width <= 390  # the table scrolls in its own box, the page does not
        assert rows(driver)
    finally:
        driver.set_window_size(1280, 900)
