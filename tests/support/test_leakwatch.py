"""The leak watch itself: it must see a secret that comes back, or the session-wide leak test
(conftest.py ``no_secret_leaks``) could pass by seeing nothing."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest

from tests.support.leakwatch import WATCH, LeakWatch
from tests.support.live import LiveServer, Tenant


@pytest.fixture(scope="session")
def server(socket_server: LiveServer) -> LiveServer:
    """reckit on a port here: the leak watch must see what uvicorn serves on a port."""
    return socket_server


def test_a_secret_sent_and_echoed_is_caught() -> None:
    watch = LeakWatch()
    watch.learn(b'{"storage_config": {"type": "aws", "secret": "hunter2-very-secret"}}')
    watch.learn(b'{"a": [{"password": "pw-123456"}], "private_key": "short"}')
    assert watch.secrets == {"hunter2-very-secret", "pw-123456"}  # "short" is too short
    watch.add_body(b'{"data": {"note": "hunter2-very-secret"}}')
    record = logging.LogRecord(
        "reckit.x", logging.INFO, __file__, 1, "login %s", ("pw-123456",), None
    )
    watch.emit(record)
    assert len(watch.leaks()) == 2


def test_test_servers_feed_the_session_watch(server: LiveServer, tenant: Tenant) -> None:
    secret = "wiring-check-" + secrets.token_hex(8)
    kit = f"{server.api}/accounts/{tenant.account_id}/realtime/kit/{tenant.app_id}"
    config = {
        "type": "aws",
        "bucket": "b",
        "region": "r",
        "access_key": "AKIA-" + secret,
        "secret": secret,
    }
    r = httpx.post(
        f"{kit}/meetings",
        json={"recording_config": {"storage_config": config}},
        headers=tenant.auth,
    )
    assert r.status_code == 201, r.text
    assert secret in WATCH.secrets and "AKIA-" + secret in WATCH.secrets
    assert any(r.content == body for body in WATCH.bodies)
