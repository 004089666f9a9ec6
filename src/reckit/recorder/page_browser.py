"""The page recorder's stage: per recording its own X display (Xvfb), its own PulseAudio daemon
with one null sink, and its own Chromium showing the page full-screen on that display and
playing into that sink, driven over the DevTools protocol (CDP, over ``websockets``).

Nothing is shared between two page recordings: a display number Xvfb picks itself
(``-displayfd``), a PulseAudio daemon on a socket in the recording's own directory (so no other
program's sound ends up in the file), a browser profile there too. Every process dies with the
recorder (PR_SET_PDEATHSIG) and is reaped by ``close()``.

PulseAudio runs without ``module-suspend-on-idle``: a suspended sink stalls FFmpeg's capture of
its monitor (seconds of a recording were lost that way in the prototype).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reckit.recorder.processes import _die_with_parent
from reckit.recorder.specs import SAMPLE_RATE, MediaError

log = logging.getLogger("reckit.recorder.page")

SINK = "reckit"  # the null sink's name in each recording's own PulseAudio
START_TIMEOUT_S = 20.0  # for Xvfb, PulseAudio and Chromium to come up
CDP_CALL_TIMEOUT_S = 10.0
PROGRAMS = {"chromium": "chromium", "Xvfb": "Xvfb", "pulseaudio": "pulseaudio"}


class PageError(MediaError):
    """The page could not be shown: the browser failed, or the page did not load."""


def missing_programs() -> list[str]:
    """The programs a page recording needs that are not installed (Debian: ``apt-get install
    chromium xvfb pulseaudio``)."""
    return [name for name, program in PROGRAMS.items() if shutil.which(program) is None]


def _spawn(command: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def _stop(process: subprocess.Popen[bytes] | None, grace_s: float = 3.0) -> None:
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    else:
        # The leader is gone; anything it left in its group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _tail(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1][:200] if lines else ""


class _Cdp:
    """One DevTools connection: calls answered by id, events handed to ``on_event`` from the
    reader thread. ``closed`` is set when the connection ends (the browser died or closed)."""

    def __init__(self, url: str, on_event: Callable[[str, dict[str, Any]], None]) -> None:
        from websockets.sync.client import connect

        self._ws = connect(url, proxy=None, max_size=64 * 1024 * 1024, open_timeout=10, legacy=True)
        self._on_event = on_event
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        waiting = self._pending.pop(int(message["id"]), None)
                    if waiting is not None:
                        waiting[1].append(message)
                        waiting[0].set()
                elif "method" in message:
                    try:
                        self._on_event(str(message["method"]), message.get("params") or {})
                    except Exception:
                        log.exception("a DevTools event handler failed")
        except Exception as exc:
            log.debug("DevTools connection ended: %s", exc)
        finally:
            self.closed.set()
            with self._lock:
                pending, self._pending = self._pending, {}
            for event, _ in pending.values():
                event.set()

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        timeout: float = CDP_CALL_TIMEOUT_S,
        session: str | None = None,
    ) -> dict[str, Any]:
        if self.closed.is_set():
            raise PageError("the browser is gone")
        number = next(self._ids)
        done: tuple[threading.Event, list[dict[str, Any]]] = (threading.Event(), [])
        with self._lock:
            self._pending[number] = done
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            self._ws.send(json.dumps(message))
        except Exception as exc:
            raise PageError(f"the browser is gone ({type(exc).__name__})") from exc
        if not done[0].wait(timeout):
            with self._lock:
                self._pending.pop(number, None)
            raise TimeoutError(f"{method} got no answer within {timeout:g} s")
        if not done[1]:
            raise PageError("the browser is gone")
        answer = done[1][0]
        if "error" in answer:
            raise PageError(f"{method}: {answer['error'].get('message', answer['error'])}")
        result: dict[str, Any] = answer.get("result") or {}
        return result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.close()
        self._reader.join(5)


@dataclass(frozen=True)
class Navigation:
    timeout_s: float = 30.0
    tries: int = 3
    retry_delay_s: float = 1.0


class Stage:
    """Xvfb + PulseAudio + Chromium for one page recording, in ``directory``. ``on_console``
    gets the first argument of every console message of the page (``START_RECORDING``,
    ``END_RECORDING``)."""

    def __init__(
        self,
        directory: Path,
        width: int,
        height: int,
        on_console: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.width, self.height = width, height
        self._on_console = on_console
        self.display: str = ""
        self.pulse_server: str = ""
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._pulse: subprocess.Popen[bytes] | None = None
        self._browser: subprocess.Popen[bytes] | None = None
        self._cdp: _Cdp | None = None
        self._session: str | None = None
        self._statuses: dict[str, int] = {}
        self._loaded = threading.Condition()
        self._load_events = 0
        self.crashed = threading.Event()  # the page's renderer or the whole browser died

    # --- the processes ------------------------------------------------------------------------

    def open(self) -> None:
        missing = missing_programs()
        if missing:
            raise PageError(
                f"page recording needs {', '.join(missing)} (Debian: apt-get install"
                " chromium xvfb pulseaudio)"
            )
        # Afresh: a stage left by a recorder that died holds a stale DevTools port file, a
        # PulseAudio socket nobody listens on, and a locked browser profile.
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._start_xvfb()
            self._start_pulse()
            self._start_browser()
        except BaseException:
            self.close()
            raise

    def _env(self) -> dict[str, str]:
        home = self.directory / "home"
        home.mkdir(exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DISPLAY", "PULSE_SERVER", "PULSE_SINK", "WAYLAND_DISPLAY")
        }
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            PULSE_RUNTIME_PATH=str(self.directory / "pulse"),
        )
        if self.display:
            env["DISPLAY"] = self.display
        if self.pulse_server:
            env["PULSE_SERVER"] = self.pulse_server
            env["PULSE_SINK"] = SINK
        return env

    def _start_xvfb(self) -> None:
        read, write = os.pipe()
        try:
            with open(self.directory / "xvfb.log", "ab") as out:
                self._xvfb = subprocess.Popen(
                    [
                        "Xvfb",
                        "-displayfd",
                        str(write),
                        "-screen",
                        "0",
                        f"{self.width}x{self.height}x24",
                        "-nolisten",
                        "tcp",
                        "-noreset",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    pass_fds=(write,),
                    env=self._env(),
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
        finally:
            os.close(write)
        number = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not number.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select([read], [], [], 0.2)
                if ready:
                    chunk = os.read(read, 16)
                    if not chunk:
                        break
                    number += chunk
        finally:
            os.close(read)
        if not number.strip().isdigit():
            raise PageError(
                f"Xvfb did not start: {_tail(self.directory / 'xvfb.log') or 'no display'}"
            )
        self.display = f":{int(number)}"

    def _start_pulse(self) -> None:
        (self.directory / "pulse").mkdir(exist_ok=True)
        socket_path = self.directory / "pulse" / "native"
        self._pulse = _spawn(
            [
                "pulseaudio",
                "-n",  # no default script: no module-suspend-on-idle
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disable-shm=yes",
                "--use-pid-file=no",
                "--log-target=stderr",
                f"--load=module-native-protocol-unix socket={socket_path} auth-anonymous=1",
                f"--load=module-null-sink sink_name={SINK} rate={SAMPLE_RATE} channels=2",
            ],
            self.directory / "pulse.log",
            self._env(),
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not socket_path.exists():
            if self._pulse.poll() is not None or time.monotonic() > deadline:
                raise PageError(
                    f"PulseAudio did not start: {_tail(self.directory / 'pulse.log') or 'timeout'}"
                )
            time.sleep(0.05)
        self.pulse_server = f"unix:{socket_path}"

    def _start_browser(self) -> None:
        profile = self.directory / "profile"
        profile.mkdir(exist_ok=True)
        flags = [
            "chromium",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            "--kiosk",
            "--no-first-run",
            "--no-default-browser-check",
            "--noerrdialogs",
            "--disable-infobars",
            "--disable-translate",
            "--disable-features=Translate,MediaRouter",
            "--disable-sync",
            "--disable-extensions",
            "--disable-component-update",
            "--disable-background-networking",
            "--autoplay-policy=no-user-gesture-required",
            "--disable-background-timer-throttling",
            "--disable-backgrounding-occluded-windows",
            "--disable-renderer-backgrounding",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--force-color-profile=srgb",
            "--hide-scrollbars",
            "--password-store=basic",
            "--use-fake-ui-for-media-stream",
            f"--window-size={self.width},{self.height}",
            "--window-position=0,0",
            "about:blank",
        ]
        if os.geteuid() == 0:
            flags.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        self._browser = _spawn(flags, self.directory / "browser.log", self._env())
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        lines: list[str] = []
        while len(lines) < 2:
            if self._browser.poll() is not None or time.monotonic() > deadline:
                raise PageError(
                    "Chromium did not start: "
                    f"{_tail(self.directory / 'browser.log') or 'no DevTools port'}"
                )
            time.sleep(0.05)
            with contextlib.suppress(OSError):
                lines = port_file.read_text().split()
        while True:
            try:
                self._cdp = _Cdp(f"ws://127.0.0.1:{lines[0]}{lines[1]}", self._event)
                break
            except OSError as exc:
                # The port file can be there a moment before the port answers.
                if self._browser.poll() is not None or time.monotonic() > deadline:
                    raise PageError(f"Chromium's DevTools did not answer: {exc}") from exc
                time.sleep(0.1)
                with contextlib.suppress(OSError):
                    lines = port_file.read_text().split() or lines
        targets = self._cdp.call("Target.getTargets")["targetInfos"]
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise PageError("Chromium opened no page")
        attached = self._cdp.call(
            "Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True}
        )
        self._session = str(attached["sessionId"])
        for method in ("Page.enable", "Runtime.enable", "Network.enable", "Inspector.enable"):
            self._call(method)

    def _call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        assert self._cdp is not None
        return self._cdp.call(method, params, session=self._session, **kw)

    # --- events ------------------------------------------------------------------------------

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.responseReceived" and params.get("type") == "Document":
            self._statuses[str(params.get("loaderId"))] = int(params["response"]["status"])
        elif method == "Page.loadEventFired":
            with self._loaded:
                self._load_events += 1
                self._loaded.notify_all()
        elif method == "Runtime.consoleAPICalled":
            args = params.get("args") or []
            if args and self._on_console is not None:
                self._on_console(str(args[0].get("value", "")))
        elif method in ("Inspector.targetCrashed", "Target.targetCrashed") or (
            method == "Target.detachedFromTarget" and params.get("sessionId") == self._session
        ):
            self.crashed.set()

    def alive(self) -> bool:
        """Whether the browser still shows the page."""
        return (
            self._browser is not None
            and self._browser.poll() is None
            and self._cdp is not None
            and not self._cdp.closed.is_set()
            and not self.crashed.is_set()
        )

    @property
    def browser_pid(self) -> int | None:
        return self._browser.pid if self._browser is not None else None

    # --- navigation --------------------------------------------------------------------------

    def navigate(self, url: str, shown: str, how: Navigation) -> None:
        """Load ``url`` (``shown`` is how a failure names it: without the appended token),
        trying ``how.tries`` times, each within ``how.timeout_s``. A network error, an HTTP
        status of 400 or more, or no load event in time is a failed try; PageError says why
        the last one failed."""
        reason = "not tried"
        for attempt in range(how.tries):
            if attempt:
                time.sleep(how.retry_delay_s)
            if not self.alive():
                raise PageError("the browser died while loading the page")
            deadline = time.monotonic() + how.timeout_s
            with self._loaded:
                seen = self._load_events
            try:
                result = self._call("Page.navigate", {"url": url}, timeout=how.timeout_s)
            except TimeoutError:
                reason = f"no answer within {how.timeout_s:g} s"
                self._stop_loading()
                continue
            error = result.get("errorText")
            if error:
                reason = f"{error}"
                continue
            status = self._statuses.get(str(result.get("loaderId")))
            if status is not None and status >= 400:
                reason = f"HTTP {status}"
                continue
            with self._loaded:
                loaded = self._loaded.wait_for(
                    lambda seen=seen: self._load_events > seen,  # type: ignore[misc]
                    max(0.0, deadline - time.monotonic()),
                )
            if not loaded:
                reason = f"it did not finish loading within {how.timeout_s:g} s"
                self._stop_loading()
                continue
            return
        raise PageError(f"the page {shown} could not be loaded ({how.tries} tries): {reason}")

    def _stop_loading(self) -> None:
        with contextlib.suppress(Exception):
            self._call("Page.stopLoading", timeout=2)

    # --- the end -------------------------------------------------------------------------------

    def close(self) -> None:
        if self._cdp is not None:
            with contextlib.suppress(Exception):
                self._cdp.call("Browser.close", timeout=2)
            self._cdp.close()
            self._cdp = None
        for process in (self._browser, self._pulse, self._xvfb):
            _stop(process)
        self._browser = self._pulse = self._xvfb = None
