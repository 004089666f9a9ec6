"""Whether this machine can record web pages (Chromium, Xvfb and PulseAudio installed), and the
one way the page-recording tests deal with a machine that cannot: skipped, saying why, on a
person's machine; a failure under CI=true, where nothing may be skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reckit.recorder.page_browser import missing_programs

INSTALL = "apt-get install chromium xvfb pulseaudio"


def require_page_programs() -> None:
    missing = missing_programs()
    if not missing:
        return
    why = f"page recording needs {', '.join(missing)} ({INSTALL})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the page-recording tests: {why}")
    pytest.skip(why)


def browser_pids(work_dir: Path) -> list[int]:
    """The main Chromium process of each page recording captured under ``work_dir`` (its
    profile is in there; the renderers and helpers carry ``--type=``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [a.decode(errors="replace") for a in args]
        if (
            text
            and "chromium" in Path(text[0]).name
            and any(a.startswith("--user-data-dir=" + str(work_dir)) for a in text)
            and not any(a.startswith("--type=") for a in text)
        ):
            found.append(int(entry.name))
    return found
