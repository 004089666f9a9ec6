"""The HTTP package's layers: the routes take the request context and never import the ASGI
application (no cycle, not even one hidden behind ``TYPE_CHECKING``); one ``authorize`` decides
every realm; the background work runs without HTTP."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

import reckit
from reckit.background import Background
from reckit.capture.tokens import create_recorder_token
from reckit.clock import SystemClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.errors import AuthError, BadRequest, Forbidden, NotFound
from reckit.http.context import Context, Grant, authorize, build_context
from tests.support.live import Tenant, new_tenant
from tests.support.pg import own_database

PACKAGE = Path(reckit.__file__).parent


def _imported(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions and ``if TYPE_CHECKING:``
    blocks included), absolute; for ``from a import b`` both ``a`` and ``a.b``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_the_import_scan_sees_every_form(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from reckit.http.app import ReckitApp\n"
        "def f() -> None:\n    from .. import app\n"
        "import reckit.http.app as a\n"
    )
    names = _imported(probe, "reckit.http.routes")
    assert {"reckit.http.app", "reckit.http.app.ReckitApp", "reckit.http"} <= names
    probe.write_text("from . import apps\nfrom ..app import build_asgi_app\n")
    names = _imported(probe, "reckit.http.routes")
    assert {"reckit.http.routes.apps", "reckit.http.app"} <= names


def test_no_route_module_imports_the_asgi_app() -> None:
    routes = _modules(PACKAGE / "http" / "routes")
    assert len(routes) >= 5
    for path in routes:
        names = _imported(path, "reckit.http.routes")
        bad = {n for n in names if n == "reckit.http.app" or n.startswith("reckit.http.app.")}
        assert not bad, f"{path.name} imports the ASGI application: {sorted(bad)}"


def test_the_context_and_the_background_know_nothing_of_the_app() -> None:
    for path, package in (
        (PACKAGE / "http" / "context.py", "reckit.http"),
        (PACKAGE / "background.py", "reckit"),
    ):
        names = _imported(path, package)
        assert not {n for n in names if n.startswith("reckit.http.app")}, path.name
    # The background work needs no HTTP at all.
    background = _imported(PACKAGE / "background.py", "reckit")
    assert not {n for n in background if n.startswith(("reckit.http", "starlette", "uvicorn"))}


def _context(data_dir: Path, db: Database) -> Context:
    settings = Settings(data_dir=data_dir, sweep_interval_s=0.05)
    return build_context(settings, db, SystemClock())


def test_authorize_follows_the_realm_of_the_path(engine: str, tmp_path: Path) -> None:
    with own_database(engine, tmp_path / "db") as db:
        _check_realms(_context(tmp_path, db), new_tenant(db))


def _check_realms(ctx: Context, tenant: Tenant) -> None:
    under_app = {"account_id": tenant.account_id, "app_id": tenant.app_id}
    under_account = {"account_id": tenant.account_id}
    with ctx.db.transaction(write=True) as tx:
        recorder_token, _ = create_recorder_token(tx, ctx.clock, "layers")
    with ctx.db.transaction() as tx:
        grant = authorize(tx, tenant.token, under_app)
        assert grant.subject == tenant.app_id and isinstance(grant.version, int)
        assert authorize(tx, tenant.token, under_account) == Grant(tenant.account_id)
        recorder = authorize(tx, recorder_token, {"recording_id": "x"})
        assert recorder.subject and recorder.version is None
        # Each realm takes its own kind of token only.
        with pytest.raises(AuthError):
            authorize(tx, tenant.token, {})
        with pytest.raises(AuthError):
            authorize(tx, recorder_token, under_app)
        # 400 for over-long IDs, then 403 for another account, then 404 for an app not in it.
        with pytest.raises(BadRequest):
            authorize(tx, tenant.token, {**under_app, "app_id": "a" * 33})
        with pytest.raises(Forbidden):
            authorize(tx, tenant.token, {"account_id": "elsewhere"})
        with pytest.raises(NotFound):
            authorize(tx, tenant.token, {**under_app, "app_id": "missing"})


def test_the_background_work_runs_without_http(engine: str, tmp_path: Path) -> None:
    with own_database(engine, tmp_path / "db") as db:
        new_tenant(db)
        ctx = _context(tmp_path, db)
        swept: list[int] = []

        class Counted(Background):
            def sweep_once(self) -> int:
                swept.append(changed := super().sweep_once())
                return changed

        background = Counted(ctx)
        assert background.sweep_once() == 0
        assert background.deliver_once() == 0

        async def run() -> None:
            background.start()
            deadline = asyncio.get_running_loop().time() + 10
            while len(swept) < 3 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            await background.stop()

        asyncio.run(run())
        assert len(swept) >= 3
