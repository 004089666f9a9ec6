"""The webhooks management API through the official SDK (strict response validation) and plain
HTTP, every response checked against the served OpenAPI document; the public key at
/.well-known/webhooks.json; isolation by account and app; the SSRF guard at create."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloudflare import BadRequestError, Cloudflare, NotFoundError, PermissionDeniedError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reckit.db.engine import Database
from tests.support.live import LiveServer, Tenant, ValidatingClient, new_tenant

# Not resolvable here, or public where it is: accepted by the guard.
HOOK = "https://hooks.example.com/rtk"


@pytest.fixture
def tenant(database: Database) -> Tenant:
    return new_tenant(database)


@pytest.fixture
def cf(server: LiveServer, tenant: Tenant) -> Iterator[Cloudflare]:
    with Cloudflare(
        api_token=tenant.token,
        base_url=server.api,
        max_retries=0,
        http_client=ValidatingClient(),
        _strict_response_validation=True,
    ) as client:
        yield client


def test_the_sdks_six_methods(cf: Cloudflare, tenant: Tenant) -> None:
    hooks = cf.realtime_kit.webhooks
    acct = tenant.account_id
    made = hooks.create_webhook(
        tenant.app_id,
        account_id=acct,
        name="ops",
        url=HOOK,
        events=["recording.statusUpdate", "meeting.started"],
    )
    w = made.data
    assert made.success and w.enabled is True and w.name == "ops" and w.url == HOOK
    assert w.events == ["recording.statusUpdate", "meeting.started"]
    assert w.created_at == w.updated_at

    listed = hooks.get_webhooks(tenant.app_id, account_id=acct)
    assert [x.id for x in listed.data] == [w.id]

    got = hooks.get_webhook_by_id(w.id, account_id=acct, app_id=tenant.app_id)
    assert got.data.model_dump() == w.model_dump()

    edited = hooks.edit_webhook(
        w.id, account_id=acct, app_id=tenant.app_id, enabled=False, events=["meeting.ended"]
    )
    assert edited.data.enabled is False and edited.data.events == ["meeting.ended"]
    assert edited.data.name == "ops" and edited.data.url == HOOK

    replaced = hooks.replace_webhook(
        w.id,
        account_id=acct,
        app_id=tenant.app_id,
        name="ops 2",
        url=HOOK + "/v2",
        events=["meeting.participantJoined"],
    )
    assert replaced.data.enabled is True  # PUT: enabled defaults to true, as on create
    assert (replaced.data.name, replaced.data.url) == ("ops 2", HOOK + "/v2")

    deleted = hooks.delete_webhook(w.id, account_id=acct, app_id=tenant.app_id)
    assert deleted.data.id == w.id and deleted.data.name == "ops 2"
    assert hooks.get_webhooks(tenant.app_id, account_id=acct).data == []
    with pytest.raises(NotFoundError):
        hooks.get_webhook_by_id(w.id, account_id=acct, app_id=tenant.app_id)


def test_create_answers_201_and_all_lists_the_events(
    server: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    base = f"{server.api}/accounts/{tenant.account_id}/realtime/kit/{tenant.app_id}/webhooks"
    r = http.post(
        base, headers=tenant.auth, json={"name": "a", "url": HOOK, "events": ["meeting.started"]}
    )
    assert r.status_code == 201
    events = http.get(f"{base}/all", headers=tenant.auth)
    assert events.status_code == 200 and len(events.json()["data"]) == 9
    deliveries = http.get(f"{base}/{r.json()['data']['id']}/deliveries", headers=tenant.auth)
    assert deliveries.status_code == 200 and deliveries.json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": HOOK, "events": ["meeting.started"]}, '"name" is required'),
        ({"name": "a", "events": ["meeting.started"]}, '"url" is required'),
        ({"name": "a", "url": HOOK}, '"events" is required'),
        ({"name": "a", "url": "mailto:x@example.com", "events": ["meeting.started"]}, '"url"'),
        ({"name": "a", "url": HOOK, "events": []}, '"events"'),
        ({"name": "a", "url": HOOK, "events": ["meeting.nothing"]}, '"events[0]"'),
        (
            {"name": "a", "url": "http://127.0.0.1:9/hook", "events": ["meeting.started"]},
            '"url" resolves to 127.0.0.1',
        ),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    server: LiveServer,
    tenant: Tenant,
    http: ValidatingClient,
    body: dict[str, object],
    field: str,
) -> None:
    base = f"{server.api}/accounts/{tenant.account_id}/realtime/kit/{tenant.app_id}/webhooks"
    r = http.post(base, headers=tenant.auth, json=body)
    assert r.status_code == 400
    assert field in r.json()["error"]["message"]


def test_a_loopback_url_is_refused_through_the_sdk(cf: Cloudflare, tenant: Tenant) -> None:
    with pytest.raises(BadRequestError, match="RECKIT_WEBHOOK_ALLOW_PRIVATE"):
        cf.realtime_kit.webhooks.create_webhook(
            tenant.app_id,
            account_id=tenant.account_id,
            name="local",
            url="http://127.0.0.1:8080/hook",
            events=["recording.statusUpdate"],
        )


def test_webhooks_are_isolated_by_app_and_account(
    cf: Cloudflare, tenant: Tenant, database: Database, server: LiveServer
) -> None:
    w = cf.realtime_kit.webhooks.create_webhook(
        tenant.app_id,
        account_id=tenant.account_id,
        name="mine",
        url=HOOK,
        events=["meeting.started"],
    ).data
    other = new_tenant(database)
    with Cloudflare(
        api_token=other.token,
        base_url=server.api,
        max_retries=0,
        http_client=ValidatingClient(),
        _strict_response_validation=True,
    ) as theirs:
        hooks = theirs.realtime_kit.webhooks
        assert hooks.get_webhooks(other.app_id, account_id=other.account_id).data == []
        with pytest.raises(NotFoundError):
            hooks.get_webhook_by_id(w.id, account_id=other.account_id, app_id=other.app_id)
        with pytest.raises(NotFoundError):
            hooks.delete_webhook(w.id, account_id=other.account_id, app_id=other.app_id)
        with pytest.raises(PermissionDeniedError):
            hooks.get_webhooks(tenant.app_id, account_id=tenant.account_id)
    assert (
        cf.realtime_kit.webhooks.get_webhook_by_id(
            w.id, account_id=tenant.account_id, app_id=tenant.app_id
        ).data.name
        == "mine"
    )


def test_a_webhook_id_that_is_not_a_uuid_is_a_400(
    server: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    base = f"{server.api}/accounts/{tenant.account_id}/realtime/kit/{tenant.app_id}/webhooks"
    r = http.get(f"{base}/not-a-uuid", headers=tenant.auth)
    assert r.status_code == 400 and '"webhook_id"' in r.json()["error"]["message"]


def test_the_public_key_is_served_in_realtimekits_shape(
    server: LiveServer, http: ValidatingClient
) -> None:
    for url in (
        f"{server.url}/.well-known/webhooks.json",
        f"{server.api}/.well-known/webhooks.json",
    ):
        r = http.get(url)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=3600"
        body = r.json()
        assert body["success"] is True and body["message"] == ""
        key = serialization.load_pem_public_key(body["data"]["publicKey"].encode())
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
