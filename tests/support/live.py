"""reckit on a port in this process (uvicorn in a thread), the tenants tests act as, and an
HTTP client that checks every answer against reckit's OpenAPI document."""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from reckit.accounts.service import create_account
from reckit.apps.service import create_app
from reckit.auth.tokens import create_token
from reckit.clock import Clock, SystemClock
from reckit.config import DEFAULT_DATA_DIR, Settings
from reckit.db.engine import Database
from reckit.http.app import ReckitApp
from reckit.http.app import build_asgi_app as create_asgi_app
from tests.support.inprocess import Routed, new_base_url, serve_in_process
from tests.support.leakwatch import watched
from tests.support.openapi_check import validate_response
from tests.support.threaded import uvicorn_in_thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db: Database
    settings: Settings
    app: ReckitApp

    @property
    def api(self) -> str:
        return f"{self.url}/client/v4"


@contextlib.contextmanager
def run_server(
    db: Database, settings: Settings | None = None, clock: Clock | None = None
) -> Iterator[LiveServer]:
    port = settings.port if settings is not None else free_port()
    # No background timers unless a test asks: tests apply them with app.sweep_once().
    settings = settings or Settings(host="127.0.0.1", port=port, sweep_interval_s=0)
    if settings.data_dir == DEFAULT_DATA_DIR:  # never the working directory's
        settings = replace(settings, data_dir=Path(tempfile.mkdtemp(prefix="reckit-test-")))
    app = create_asgi_app(settings, db, clock)
    with uvicorn_in_thread(watched(app), port, stop_timeout_s=10) as url:
        yield LiveServer(url, db, settings, app)


@contextlib.contextmanager
def run_in_process(
    db: Database, settings: Settings | None = None, clock: Clock | None = None
) -> Iterator[LiveServer]:
    """``run_server`` without the socket (tests/support/inprocess.py): for tests that reach
    reckit only through a ``ValidatingClient`` (the official SDK given one as its
    ``http_client`` included). Download links point at the same in-process host."""
    base_url = new_base_url()
    settings = settings or Settings(host="127.0.0.1", port=free_port(), sweep_interval_s=0)
    settings = replace(settings, public_url=base_url)
    if settings.data_dir == DEFAULT_DATA_DIR:
        settings = replace(settings, data_dir=Path(tempfile.mkdtemp(prefix="reckit-test-")))
    app = create_asgi_app(settings, db, clock)
    with serve_in_process(watched(app), base_url):
        yield LiveServer(base_url, db, settings, app)


@dataclass
class Tenant:
    account_id: str
    app_id: str
    token: str
    token_id: str
    db: Database

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_tenant(db: Database, permission: str = "Realtime Admin") -> Tenant:
    clock = SystemClock()
    with db.transaction(write=True) as tx:
        account_id = create_account(tx, clock, "test account")
        app = create_app(tx, clock, account_id, "test app")
        token, token_id = create_token(tx, clock, account_id, permission)
    return Tenant(account_id, app.id, token, token_id, db)


class ValidatingClient(httpx.Client):
    """An httpx client that checks every response against reckit's OpenAPI document."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport", Routed())  # in-process servers too (run_in_process)
        super().__init__(event_hooks={"response": [self._check]}, timeout=30, **kwargs)
        self.bodies: list[bytes] = []

    def _check(self, response: httpx.Response) -> None:
        response.read()
        self.bodies.append(response.content)
        validate_response(response.request.method, response.request.url.path, response)
