"""The apps endpoints (wire-spec §4.2) through the official SDK (cloudflare==5.9.0) and raw HTTP
against a live reckit, on both engines; every response checked against the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from cloudflare import Cloudflare

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import Database
from tests.support.builders import NOW
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_in_process,
)

MAX_PER_PAGE = 4


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def live(database: Database, clock: ManualClock) -> Iterator[LiveServer]:
    settings = Settings(host="127.0.0.1", port=free_port(), max_per_page=MAX_PER_PAGE)
    with run_in_process(database, settings, clock=clock) as server:
        yield server


@pytest.fixture
def client(live: LiveServer, tenant: Tenant, http: ValidatingClient) -> Iterator[Cloudflare]:
    with Cloudflare(
        api_token=tenant.token,
        base_url=live.api,
        max_retries=0,
        http_client=http,
        _strict_response_validation=True,
    ) as cf:
        yield cf


def url(live: LiveServer, t: Tenant) -> str:
    return f"{live.api}/accounts/{t.account_id}/realtime/kit/apps"


def error(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == status
    message: str = body["error"]["message"]
    return message


def test_create_an_app(client: Cloudflare, tenant: Tenant, clock: ManualClock) -> None:
    raw = client.realtime_kit.apps.with_raw_response.post(
        account_id=tenant.account_id, name="  My App  "
    )
    assert raw.http_response.status_code == 200  # not 201 (wire-spec §4.2)
    model = raw.parse()
    assert model.success is True and model.data is not None and model.data.app is not None
    app = raw.http_response.json()["data"]["app"]
    assert re.fullmatch(r"[0-9a-f]{32}", app["id"])
    assert app["name"] == "My App"
    assert app["created_at"].endswith("Z")
    # The new app is usable at once: its meetings list answers.
    page = client.realtime_kit.meetings.get(app["id"], account_id=tenant.account_id)
    assert page.data == [] and page.paging.total_count == 0


@pytest.fixture
def apps(client: Cloudflare, tenant: Tenant, clock: ManualClock) -> list[dict[str, Any]]:
    """The tenant's app plus six more, two created at the same instant; oldest first."""
    made = []
    for i, name in enumerate(["Blue", "green", "Blue-Green", "Red", "Orange", "BLUEBERRY"]):
        if i != 2:
            clock.advance(1000)
        raw = client.realtime_kit.apps.with_raw_response.post(
            account_id=tenant.account_id, name=name
        )
        made.append(raw.http_response.json()["data"]["app"])
    first: list[dict[str, Any]] = client.realtime_kit.apps.with_raw_response.get(
        account_id=tenant.account_id, search="test app"
    ).http_response.json()["data"]
    rows = first + made
    rows.sort(key=lambda a: (a["created_at"], a["id"]))
    return rows


def ids(client: Cloudflare, t: Tenant, **params: Any) -> list[str]:
    page = client.realtime_kit.apps.get(account_id=t.account_id, **params)
    assert page.data is not None
    return [str(a.id) for a in page.data]


def test_list_pages_and_orders(
    client: Cloudflare, tenant: Tenant, apps: list[dict[str, Any]]
) -> None:
    newest_first = [a["id"] for a in reversed(apps)]
    seen: list[str] = []
    for page_no in range(1, 5):
        body = client.realtime_kit.apps.with_raw_response.get(
            account_id=tenant.account_id, page_no=page_no, per_page=3
        ).http_response.json()
        offset, n = (page_no - 1) * 3, len(body["data"])
        start, end = (offset + 1, offset + n) if n else (offset, offset)
        assert body["paging"] == {"start_offset": start, "end_offset": end, "total_count": 7}
        seen += [a["id"] for a in body["data"]]
    assert seen == newest_first
    assert ids(client, tenant, sort_order="ASC", per_page=3) == [a["id"] for a in apps][:3]
    assert ids(client, tenant, per_page=100) == newest_first[:MAX_PER_PAGE]  # clamped
    assert ids(client, tenant) == newest_first[:MAX_PER_PAGE]


def test_list_search(client: Cloudflare, tenant: Tenant, apps: list[dict[str, Any]]) -> None:
    blue = [a["id"] for a in reversed(apps) if "blue" in a["name"].lower()]
    assert len(blue) == 3
    assert ids(client, tenant, search="BLUE") == blue
    assert ids(client, tenant, search="e-g") == [a["id"] for a in apps if a["name"] == "Blue-Green"]
    assert ids(client, tenant, search="%") == []
    assert ids(client, tenant, search="purple") == []


def test_apps_of_other_accounts_are_not_listed(
    client: Cloudflare, tenant: Tenant, live: LiveServer
) -> None:
    other = new_tenant(live.db)
    assert other.app_id not in ids(client, tenant)
    assert ids(client, tenant) == [tenant.app_id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_no=0", "page_no"),
        ("page_no=-1", "page_no"),
        ("page_no=x", "page_no"),
        ("per_page=0", "per_page"),
        ("per_page=2.5", "per_page"),
        ("sort_order=up", "sort_order"),
        ("sort_order=asc", "sort_order"),
        ("search=" + "x" * 126, "search"),
    ],
)
def test_bad_list_query_is_400(
    live: LiveServer, tenant: Tenant, http: ValidatingClient, query: str, field: str
) -> None:
    message = error(http.get(f"{url(live, tenant)}?{query}", headers=tenant.auth), 400)
    assert message.startswith(f'BAD_REQUEST: "{field}"'), message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"name" is required'),
        ({"name": ""}, '"name"'),
        ({"name": "   "}, '"name"'),
        ({"name": 5}, '"name"'),
        ({"name": None}, '"name"'),
        ({"name": "x" * 256}, '"name"'),
        ({"name": "a\u0000b"}, '"name"'),
        ([], "body"),
    ],
)
def test_bad_create_body_is_400(
    live: LiveServer, tenant: Tenant, http: ValidatingClient, body: Any, message: str
) -> None:
    got = error(http.post(url(live, tenant), headers=tenant.auth, json=body), 400)
    assert got.startswith(f"BAD_REQUEST: {message}"), got


def test_another_accounts_token_is_403(
    live: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    other = new_tenant(live.db)
    for method in ("GET", "POST"):
        r = http.request(method, url(live, tenant), headers=other.auth, json={"name": "x"})
        assert r.status_code == 403
        assert r.json()["errors"][0]["code"] == 10000
    assert http.get(url(live, tenant)).status_code == 401
    too_long = url(live, tenant).replace(tenant.account_id, "a" * 33)
    assert http.get(too_long, headers=tenant.auth).status_code == 400
