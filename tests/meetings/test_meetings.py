"""The meetings endpoints (wire-spec §4.1) through the official SDK (cloudflare==5.9.0) and raw
HTTP against a live reckit, on both engines; every response checked against the OpenAPI
document, and none may carry a storage secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from cloudflare import Cloudflare

from reckit.clock import ManualClock
from reckit.config import Settings
from reckit.db.engine import Database
from reckit.meetings.service import get_meeting, lock_meeting
from reckit.timestamps import format_ms
from tests.support.builders import NOW, add_recording
from tests.support.live import (
    LiveServer,
    Tenant,
    ValidatingClient,
    free_port,
    new_tenant,
    run_in_process,
)

MAX_PER_PAGE = 6
SECRETS = ("AKIA-MEETING-SECRET", "meeting-s3cr3t", "sftp-passw0rd", "PRIVATE-KEY-xyz")
STORAGE = {
    "type": "aws",
    "bucket": "b",
    "region": "us-east-1",
    "path": "p",
    "access_key": SECRETS[0],
    "secret": SECRETS[1],
}
FULL: dict[str, Any] = {
    "title": "Quarterly Planning",
    "record_on_start": True,
    "live_stream_on_start": True,
    "persist_chat": True,
    "session_keep_alive_time_in_secs": 120,
    "summarize_on_end": True,
    "transcribe_on_end": True,
    "recording_config": {
        "max_seconds": 600,
        "file_name_prefix": "plan",
        "video_config": {"codec": "VP8", "width": 640, "height": 480},
        "audio_config": {"channel": "mono"},
        "realtimekit_bucket_config": {"enabled": False},
        "storage_config": STORAGE,
    },
    "ai_config": {
        "transcription": {"keywords": ["reckit"], "language": "de", "profanity_filter": True},
        "summarization": {
            "summary_type": "lecture",
            "text_format": "plain_text",
            "word_limit": 150,
        },
    },
}
DEFAULTS = {
    "record_on_start": False,
    "live_stream_on_start": False,
    "persist_chat": False,
    "session_keep_alive_time_in_secs": 60,
    "summarize_on_end": False,
    "transcribe_on_end": False,
    "status": "ACTIVE",
}


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def live(database: Database, clock: ManualClock) -> Iterator[LiveServer]:
    settings = Settings(host="127.0.0.1", port=free_port(), max_per_page=MAX_PER_PAGE)
    with run_in_process(database, settings, clock=clock) as server:
        yield server


@pytest.fixture
def http() -> Iterator[ValidatingClient]:
    with ValidatingClient() as client:
        yield client
    for body in client.bodies:
        for secret in SECRETS:
            assert secret.encode() not in body


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


def base(live: LiveServer, t: Tenant) -> str:
    return f"{live.api}/accounts/{t.account_id}/realtime/kit/{t.app_id}/meetings"


def create(client: Cloudflare, t: Tenant, **fields: Any) -> Any:
    return client.realtime_kit.meetings.with_raw_response.create(
        t.app_id, account_id=t.account_id, **fields
    )


def make(client: Cloudflare, t: Tenant, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = create(client, t, **fields).http_response.json()["data"]
    return data


def error(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["error"]["code"] == status
    message: str = body["error"]["message"]
    return message


# -- create, get -------------------------------------------------------------------------------


def test_create_with_no_fields_gives_defaults(
    client: Cloudflare, tenant: Tenant, clock: ManualClock
) -> None:
    raw = create(client, tenant)
    assert raw.http_response.status_code == 201
    model = raw.parse()
    assert model.success is True and model.data is not None
    data = raw.http_response.json()["data"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", data["id"]
    )
    assert data["created_at"] == data["updated_at"] == format_ms(clock.now_ms())
    assert {k: data[k] for k in DEFAULTS} == DEFAULTS
    assert "title" not in data and "recording_config" not in data and "ai_config" not in data


def test_create_every_field_and_get_it_back(client: Cloudflare, tenant: Tenant) -> None:
    raw = create(client, tenant, **FULL)
    assert raw.http_response.status_code == 201
    data = raw.http_response.json()["data"]
    fetched = client.realtime_kit.meetings.get_meeting_by_id(
        data["id"], account_id=tenant.account_id, app_id=tenant.app_id, name="ignored"
    )
    assert fetched.data is not None and fetched.data.title == "Quarterly Planning"
    again = client.realtime_kit.meetings.with_raw_response.get_meeting_by_id(
        data["id"], account_id=tenant.account_id, app_id=tenant.app_id
    ).http_response.json()["data"]
    assert again == data
    for key in (
        "title",
        "record_on_start",
        "live_stream_on_start",
        "persist_chat",
        "session_keep_alive_time_in_secs",
        "summarize_on_end",
        "transcribe_on_end",
        "ai_config",
    ):
        assert data[key] == FULL[key], key
    public_storage = {k: v for k, v in STORAGE.items() if k not in ("access_key", "secret")}
    assert data["recording_config"] == {
        **FULL["recording_config"],
        "storage_config": public_storage,
    }


def test_nullable_fields_take_their_defaults(client: Cloudflare, tenant: Tenant) -> None:
    data = make(client, tenant, title=None, record_on_start=None, live_stream_on_start=None)
    assert "title" not in data
    assert data["record_on_start"] is False and data["live_stream_on_start"] is False


def test_unknown_body_keys_are_ignored(
    live: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    r = http.post(base(live, tenant), headers=tenant.auth, json={"title": "x", "colour": "red"})
    assert r.status_code == 201 and "colour" not in r.json()["data"]
    r = http.post(base(live, tenant), headers=tenant.auth, content=b"")
    assert r.status_code == 201


def test_secrets_are_never_stored(client: Cloudflare, tenant: Tenant, database: Database) -> None:
    sftp = {
        "type": "sftp",
        "host": "h",
        "port": 22,
        "username": "u",
        "auth_method": "KEY",
        "private_key": SECRETS[3],
        "password": SECRETS[2],
    }
    data = make(client, tenant, recording_config={"storage_config": sftp})
    assert data["recording_config"]["storage_config"] == {
        "type": "sftp",
        "host": "h",
        "port": 22,
        "username": "u",
        "auth_method": "KEY",
    }
    with database.transaction() as tx:
        meeting = get_meeting(tx, tenant.app_id, data["id"])
        row = tx.one("SELECT recording_config FROM meetings WHERE id = ?", (data["id"],))
    assert meeting is not None and row is not None
    for secret in SECRETS:
        assert secret not in str(row[0])


# -- update, replace ----------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(
    client: Cloudflare, tenant: Tenant, clock: ManualClock
) -> None:
    created = make(client, tenant, **FULL)
    clock.advance(1000)
    updated = client.realtime_kit.meetings.with_raw_response.update_meeting_by_id(
        created["id"],
        account_id=tenant.account_id,
        app_id=tenant.app_id,
        title="Renamed",
        status="INACTIVE",
    ).http_response.json()["data"]
    assert updated["title"] == "Renamed" and updated["status"] == "INACTIVE"
    assert updated["updated_at"] == format_ms(clock.now_ms())
    assert updated["created_at"] == created["created_at"]
    unchanged = {k: v for k, v in created.items() if k not in ("title", "status", "updated_at")}
    assert {k: updated[k] for k in unchanged} == unchanged
    # An empty PATCH changes nothing but updated_at.
    clock.advance(1000)
    same = client.realtime_kit.meetings.with_raw_response.update_meeting_by_id(
        created["id"], account_id=tenant.account_id, app_id=tenant.app_id
    ).http_response.json()["data"]
    assert {k: v for k, v in same.items() if k != "updated_at"} == {
        k: v for k, v in updated.items() if k != "updated_at"
    }


def test_put_resets_omitted_fields_and_keeps_status(
    client: Cloudflare, tenant: Tenant, clock: ManualClock
) -> None:
    created = make(client, tenant, **FULL)
    client.realtime_kit.meetings.update_meeting_by_id(
        created["id"], account_id=tenant.account_id, app_id=tenant.app_id, status="INACTIVE"
    )
    clock.advance(1000)
    replaced = client.realtime_kit.meetings.with_raw_response.replace_meeting_by_id(
        created["id"], account_id=tenant.account_id, app_id=tenant.app_id, persist_chat=True
    ).http_response.json()["data"]
    assert replaced["id"] == created["id"] and replaced["created_at"] == created["created_at"]
    assert replaced["updated_at"] == format_ms(clock.now_ms())
    assert replaced["persist_chat"] is True
    assert {k: replaced[k] for k in DEFAULTS if k not in ("persist_chat", "status")} == {
        k: v for k, v in DEFAULTS.items() if k not in ("persist_chat", "status")
    }
    assert replaced["status"] == "INACTIVE"
    assert not {"title", "recording_config", "ai_config"} & replaced.keys()


def test_title_change_reaches_the_recordings_list(
    client: Cloudflare, tenant: Tenant, live: LiveServer
) -> None:
    meeting = make(client, tenant, title="Original Zebra Title")
    add_recording(live.db, tenant.app_id, meeting["id"])

    def listed(search: str) -> list[Any]:
        page = client.realtime_kit.recordings.get_recordings(
            tenant.app_id, account_id=tenant.account_id, search=search
        )
        return list(page.data)

    assert [r.meeting.title for r in listed("zebra")] == ["Original Zebra Title"]
    for change in ("Renamed Okapi", None, "Okapi again"):
        if change is None:  # through PUT: the title goes back to none
            client.realtime_kit.meetings.replace_meeting_by_id(
                meeting["id"], account_id=tenant.account_id, app_id=tenant.app_id
            )
            assert listed("okapi") == [] and listed("zebra") == []
            continue
        client.realtime_kit.meetings.update_meeting_by_id(
            meeting["id"], account_id=tenant.account_id, app_id=tenant.app_id, title=change
        )
        assert listed("zebra") == []
        assert [r.meeting.title for r in listed("okapi")] == [change]
        assert [r.meeting.title for r in listed("ok")] == [change]  # the short-needle path


# -- errors ---------------------------------------------------------------------------------------

BAD_BODIES: list[tuple[str, Any, str]] = [
    ("POST", {"title": 5}, '"title"'),
    ("POST", {"title": "a\u0000b"}, '"title"'),
    ("POST", {"title": "x" * 2001}, '"title"'),
    ("POST", {"record_on_start": "yes"}, '"record_on_start"'),
    ("POST", {"persist_chat": None}, '"persist_chat"'),
    ("POST", {"summarize_on_end": 1}, '"summarize_on_end"'),
    ("POST", {"transcribe_on_end": "true"}, '"transcribe_on_end"'),
    ("POST", {"live_stream_on_start": 0}, '"live_stream_on_start"'),
    ("POST", {"session_keep_alive_time_in_secs": 59}, '"session_keep_alive_time_in_secs"'),
    ("POST", {"session_keep_alive_time_in_secs": 601}, '"session_keep_alive_time_in_secs"'),
    ("POST", {"session_keep_alive_time_in_secs": 60.5}, '"session_keep_alive_time_in_secs"'),
    (
        "POST",
        {"ai_config": {"summarization": {"word_limit": 149}}},
        '"ai_config.summarization.word_limit"',
    ),
    (
        "POST",
        {"ai_config": {"summarization": {"word_limit": 1001}}},
        '"ai_config.summarization.word_limit"',
    ),
    (
        "POST",
        {"ai_config": {"summarization": {"summary_type": "rant"}}},
        '"ai_config.summarization.summary_type"',
    ),
    (
        "POST",
        {"ai_config": {"summarization": {"text_format": "html"}}},
        '"ai_config.summarization.text_format"',
    ),
    (
        "POST",
        {"ai_config": {"transcription": {"language": "xx"}}},
        '"ai_config.transcription.language"',
    ),
    (
        "POST",
        {"ai_config": {"transcription": {"keywords": "one"}}},
        '"ai_config.transcription.keywords"',
    ),
    ("POST", {"ai_config": []}, '"ai_config"'),
    ("POST", {"recording_config": {"max_seconds": 59}}, '"recording_config.max_seconds"'),
    (
        "POST",
        {"recording_config": {"video_config": {"width": 0}}},
        '"recording_config.video_config.width"',
    ),
    (
        "POST",
        {"recording_config": {"live_streaming_config": {"rtmp_url": "nope"}}},
        '"recording_config.live_streaming_config.rtmp_url"',
    ),
    (
        "POST",
        {"recording_config": {"storage_config": {"type": "aws", "bucket": "b"}}},
        '"storage_config.access_key"',
    ),
    ("POST", {"recording_config": None}, '"recording_config"'),
    ("PATCH", {"status": "DONE"}, '"status"'),
    ("PATCH", {"title": None}, '"title"'),
    ("PATCH", {"record_on_start": None}, '"record_on_start"'),
    ("PATCH", {"session_keep_alive_time_in_secs": 1000}, '"session_keep_alive_time_in_secs"'),
    ("PUT", {"session_keep_alive_time_in_secs": "60"}, '"session_keep_alive_time_in_secs"'),
    (
        "PUT",
        {"ai_config": {"transcription": {"profanity_filter": "no"}}},
        '"ai_config.transcription.profanity_filter"',
    ),
]


@pytest.mark.parametrize(("method", "body", "field"), BAD_BODIES)
def test_every_bad_field_is_a_400_naming_it(
    live: LiveServer,
    tenant: Tenant,
    http: ValidatingClient,
    client: Cloudflare,
    method: str,
    body: Any,
    field: str,
) -> None:
    url = base(live, tenant)
    if method != "POST":
        url += "/" + make(client, tenant)["id"]
    message = error(http.request(method, url, headers=tenant.auth, json=body), 400)
    assert message.startswith(f"BAD_REQUEST: {field}"), message


@pytest.mark.parametrize("content", [b"[]", b"{", b'"x"', b"null"])
def test_a_body_that_is_not_an_object_is_400(
    live: LiveServer, tenant: Tenant, http: ValidatingClient, content: bytes
) -> None:
    error(http.post(base(live, tenant), headers=tenant.auth, content=content), 400)


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT"])
def test_meeting_id_in_the_path(
    live: LiveServer, tenant: Tenant, http: ValidatingClient, client: Cloudflare, method: str
) -> None:
    url = base(live, tenant)
    for bad in ("nope", "1234", "0" * 36, "g" * 8 + "-1111-4111-8111-" + "1" * 12):
        message = error(http.request(method, f"{url}/{bad}", headers=tenant.auth, json={}), 400)
        assert message == 'BAD_REQUEST: "meeting_id" must be a valid GUID'
    unknown = "7d4f2a0e-1c3b-4e5f-9a8b-0c1d2e3f4a5b"
    error(http.request(method, f"{url}/{unknown}", headers=tenant.auth, json={}), 404)
    # A meeting of another app (of another account) is as unknown as one that does not exist.
    other = new_tenant(live.db)
    theirs = make_for(live, other, http)
    error(http.request(method, f"{url}/{theirs}", headers=tenant.auth, json={}), 404)
    # IDs compare case-insensitively.
    mine = make(client, tenant, title="Case")["id"]
    r = http.request(method, f"{url}/{mine.upper()}", headers=tenant.auth, json={})
    assert r.status_code == 200 and r.json()["data"]["id"] == mine


def make_for(live: LiveServer, t: Tenant, http: ValidatingClient) -> str:
    r = http.post(base(live, t), headers=t.auth, json={"title": "theirs"})
    assert r.status_code == 201
    meeting_id: str = r.json()["data"]["id"]
    return meeting_id


def test_path_error_comes_before_a_bad_body(
    live: LiveServer, tenant: Tenant, http: ValidatingClient
) -> None:
    url = f"{base(live, tenant)}/nope"
    message = error(http.patch(url, headers=tenant.auth, json={"status": "DONE"}), 400)
    assert '"meeting_id"' in message


def test_another_accounts_token_is_403(
    live: LiveServer, tenant: Tenant, http: ValidatingClient, client: Cloudflare
) -> None:
    other = new_tenant(live.db)
    mine = make(client, tenant)["id"]
    url = base(live, tenant)
    for method, target in (
        ("GET", url),
        ("POST", url),
        ("GET", f"{url}/{mine}"),
        ("PATCH", f"{url}/{mine}"),
        ("PUT", f"{url}/{mine}"),
    ):
        r = http.request(method, target, headers=other.auth, json={"title": 5})
        assert r.status_code == 403, (method, target)
        assert r.json()["errors"][0]["code"] == 10000
    assert http.get(url, headers={}).status_code == 401


# -- the list ------------------------------------------------------------------------------------


@pytest.fixture
def listed(client: Cloudflare, tenant: Tenant, clock: ManualClock) -> list[dict[str, Any]]:
    """Seven meetings, two sharing a created_at; newest first as the list orders them."""
    titles = [
        "Alpha standup",
        "Beta review",
        "alpha retro",
        "Gamma",
        None,
        "Delta ALPHA",
        "Epsilon",
    ]
    made = []
    for i, title in enumerate(titles):
        if i != 3:  # meetings 2 and 3 share a created_at: the ID breaks the tie
            clock.advance(1000)
        made.append(make(client, tenant, title=title))
    client.realtime_kit.meetings.update_meeting_by_id(
        made[1]["id"], account_id=tenant.account_id, app_id=tenant.app_id, status="INACTIVE"
    )
    made[1]["status"] = "INACTIVE"
    made.sort(key=lambda m: (m["created_at"], m["id"]), reverse=True)
    return made


def list_ids(client: Cloudflare, t: Tenant, **params: Any) -> list[str]:
    page = client.realtime_kit.meetings.get(t.app_id, account_id=t.account_id, **params)
    return [m.id for m in page.data]


def test_paging_arithmetic(
    client: Cloudflare, tenant: Tenant, listed: list[dict[str, Any]]
) -> None:
    ids: list[str] = []
    for page_no in range(1, 5):
        raw = client.realtime_kit.meetings.with_raw_response.get(
            tenant.app_id, account_id=tenant.account_id, page_no=page_no, per_page=3
        )
        body = raw.http_response.json()
        offset = (page_no - 1) * 3
        n = len(body["data"])
        if n:
            assert body["paging"] == {
                "start_offset": offset + 1,
                "end_offset": offset + n,
                "total_count": 7,
            }
        else:
            assert body["paging"] == {
                "start_offset": offset,
                "end_offset": offset,
                "total_count": 7,
            }
        ids += [m["id"] for m in body["data"]]
        assert "ai_config" not in str(body["data"])
    assert ids == [m["id"] for m in listed]
    # per_page=0 counts; above the server's maximum it is clamped; page_no=0 is page 1.
    count = client.realtime_kit.meetings.get(
        tenant.app_id, account_id=tenant.account_id, per_page=0
    )
    assert count.data == [] and count.paging.total_count == 7
    assert count.paging.start_offset == count.paging.end_offset == 0
    assert len(list_ids(client, tenant, per_page=1000)) == MAX_PER_PAGE
    assert list_ids(client, tenant, page_no=0, per_page=2.0) == ids[:2]
    assert list_ids(client, tenant) == ids[:MAX_PER_PAGE]  # default 20, clamped


def test_filters(client: Cloudflare, tenant: Tenant, listed: list[dict[str, Any]]) -> None:
    by_title = {m.get("title"): m["id"] for m in listed}

    def expect(keep: Any) -> list[str]:
        return [m["id"] for m in listed if keep(m)]

    alpha = expect(lambda m: "alpha" in (m.get("title") or "").lower())
    assert len(alpha) == 3
    assert list_ids(client, tenant, search="ALPHA") == alpha
    assert list_ids(client, tenant, search="ha") == expect(
        lambda m: "ha" in (m.get("title") or "").lower()
    )
    assert list_ids(client, tenant, search="nothing like it") == []
    target = by_title["Gamma"]
    assert list_ids(client, tenant, search=target) == [target]
    assert list_ids(client, tenant, search=target[:8].upper()) == expect(
        lambda m: m["id"].startswith(target[:8])
    )
    assert list_ids(client, tenant, status="INACTIVE") == [by_title["Beta review"]]
    assert list_ids(client, tenant, status="ACTIVE") == expect(lambda m: m["status"] == "ACTIVE")
    # The window bounds created_at, both ends inclusive.
    times = sorted({m["created_at"] for m in listed})
    window = expect(lambda m: times[1] <= m["created_at"] <= times[3])
    assert list_ids(client, tenant, start_time=times[1], end_time=times[3]) == window
    assert list_ids(client, tenant, search="alpha", status="ACTIVE", end_time=times[0]) == (
        expect(lambda m: m["created_at"] == times[0] and "alpha" in (m.get("title") or "").lower())
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=DONE", "status"),
        ("status=ACTIVE,INACTIVE", "status"),
        ("page_no=-1", "page_no"),
        ("page_no=1.5", "page_no"),
        ("per_page=abc", "per_page"),
        ("start_time=yesterday", "start_time"),
        ("end_time=", "end_time"),
        ("search=" + "x" * 257, "search"),
        ("start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z", "start_time"),
    ],
)
def test_bad_list_query_is_400(
    live: LiveServer, tenant: Tenant, http: ValidatingClient, query: str, field: str
) -> None:
    message = error(http.get(f"{base(live, tenant)}?{query}", headers=tenant.auth), 400)
    assert message.startswith(f'BAD_REQUEST: "{field}"'), message


# -- what the recording lifecycle reads -------------------------------------------------------


def test_get_and_lock_meeting(client: Cloudflare, tenant: Tenant, database: Database) -> None:
    data = make(client, tenant, **FULL)
    with database.transaction(write=True) as tx:
        locked = lock_meeting(tx, tenant.app_id, data["id"].upper())
        assert lock_meeting(tx, tenant.app_id, "not-a-uuid") is None
    with database.transaction() as tx:
        got = get_meeting(tx, tenant.app_id, data["id"])
        assert get_meeting(tx, tenant.app_id, "7d4f2a0e-1c3b-4e5f-9a8b-0c1d2e3f4a5b") is None
        assert get_meeting(tx, "0" * 32, data["id"]) is None
    assert got is not None and locked == got
    assert got.status == "ACTIVE" and got.record_on_start is True
    assert got.recording_config is not None
    assert got.recording_config["max_seconds"] == 600
    assert "access_key" not in got.recording_config["storage_config"]
    assert got.session_keep_alive_time_in_secs == 120
