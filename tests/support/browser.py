"""A real headless Chromium driven by Selenium through Debian's chromedriver (``apt-get install
chromium chromium-driver``), for the dashboard's browser tests and bench/dashboard.py."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

T = TypeVar("T")


def missing() -> list[str]:
    """The programs a browser test needs and this machine lacks."""
    return [p for p in ("chromium", "chromedriver") if shutil.which(p) is None]


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(
    what: Callable[[], T | None], timeout_s: float = 20.0, message: str = "", every_s: float = 0.05
) -> T:
    """The first truthy value ``what`` returns (exceptions count as not yet), or fail."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while True:
        try:
            value = what()
            if value:
                return value
        except Exception as exc:  # a page in the middle of a render
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s: {message} (last error: {last})")
        time.sleep(every_s)


def js(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def ready(driver: WebDriver, after: int = 0) -> int:
    """Wait for a view rendered after render number ``after`` (main's data-ready); its number."""

    def done() -> int:
        value = js(driver, "return document.getElementById('main').dataset.ready || ''")
        return int(value) if value and int(value) > after else 0

    return wait_until(done, message=f"a view rendered after #{after}")


def render_count(driver: WebDriver) -> int:
    value = js(driver, "return document.getElementById('main')?.dataset.ready || '0'")
    return int(value or 0)
