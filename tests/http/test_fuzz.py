"""Schemathesis against a live server, with every check it has, over every operation of the
document reckit serves: its coverage, fuzzing and stateful phases, positive and negative data.
Any failure of any check fails the test, with a curl command per failure to reproduce it.

Where a check cannot be satisfied by a document alone, the exception is narrow and checked:
``Excused`` lets a "valid data rejected" failure pass only when the 400 is one of the rules
docs/behaviour.md states in prose (an inverted time window, a state the request cannot be made
in) *and* the test confirms, on its own, that the rule applies to that very request. Any other
failure, or that 400 where the rule does not apply, fails.

Determinism: under CI=true the run is derandomized with seed 0 (a red CI means a real change);
elsewhere each run draws a new seed, printed on failure (RECKIT_FUZZ_SEED=<seed> replays it).
RECKIT_FUZZ_EXAMPLES sets the examples per operation of the fuzzing phase (30: with the
coverage and stateful phases about 3,900 requests per engine, against the 2,500 asked; 60 took
half as long again for about 900 more).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema_rs
import pytest
import schemathesis
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.engine import events, from_schema
from schemathesis.openapi.checks import RejectedPositiveData

from reckit import bodies
from reckit import recording_options as options
from reckit.apps import repository as apps_repo
from reckit.errors import BadRequest
from reckit.http.openapi import openapi_document
from reckit.ids import new_uuid
from reckit.recordings import live_repository as live
from reckit.recordings.list_query import parse_list_query
from reckit.sessions import repository as sessions
from tests.support.builders import Made, make_dataset
from tests.support.leakwatch import GENERATED
from tests.support.live import LiveServer, Tenant, new_tenant
from tests.support.openapi_check import validate


@pytest.fixture(scope="session")
def server(socket_server: LiveServer) -> LiveServer:
    """reckit on a port here: schemathesis opens its own connections."""
    return socket_server


EXAMPLES = int(os.environ.get("RECKIT_FUZZ_EXAMPLES", "30"))
CI = os.environ.get("CI") == "true"
# Generated requests per engine (SQLite, PostgreSQL): at least 5,000 over both.
MIN_REQUESTS = 2_500
# schemathesis's own default bound, made explicit: enabling max_response_time needs one.
MAX_RESPONSE_TIME_S = 10.0

load_all_checks()
# Every check schemathesis registers: the test fails if a new version adds one this list does
# not name, so that it is looked at, not silently left out or in.
ALL_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
}


def test_every_check_is_run() -> None:
    assert {c.__name__ for c in CHECKS.get_all()} == ALL_CHECKS


# --- the prose rules a 400 on schema-valid data may cite -----------------------------------


def _utc_ms(text: str) -> int | None:
    """RFC 3339 as epoch ms (floored), computed independently of reckit.timestamps."""
    try:
        d = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    # Ordinal arithmetic: comparing aware datetimes overflows at the calendar's ends.
    offset = d.utcoffset() or timedelta(0)
    midnight = d.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        d.toordinal() * 86400 + (d - midnight).seconds - offset.days * 86400 - offset.seconds
    ) * 1000 + d.microsecond // 1000


def _last(query: dict[str, Any], key: str) -> str | None:
    value = query.get(key)
    if isinstance(value, list):
        value = value[-1] if value else None
    return None if value is None else str(value)


# wire-spec §7 item 30, decisions.md (Lifecycle): the actions a status refuses.
_REFUSED = {("pause", s) for s in ("INVOKED", "UPLOADING", "UPLOADED", "ERRORED")} | {
    ("resume", s) for s in ("INVOKED", "UPLOADING", "UPLOADED", "ERRORED")
}


@dataclass
class Excused:
    """The filter_failure hook: which "valid data rejected" failures a documented prose rule
    explains, each confirmed for the request at hand."""

    server: LiveServer
    tenant: Tenant
    seen: dict[str, int] = field(default_factory=dict)

    def __call__(self, context: Any, failure: Any, case: Any, response: Any) -> bool:
        """False (drop the failure) only for a confirmed rule; True keeps it."""
        if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
            return True
        try:
            message = json.loads(response.content)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            return True
        request = getattr(response, "request", None)
        rule = self._rule(case, message, str(getattr(request, "url", "") or ""))
        if rule is None:
            return True
        self.seen[rule] = self.seen.get(rule, 0) + 1
        return False

    def _get(self, path: str) -> dict[str, Any] | None:
        base = f"{self.server.api}/accounts/{self.tenant.account_id}/realtime/kit/"
        r = httpx.get(f"{base}{self.tenant.app_id}{path}", headers=self.tenant.auth, timeout=30)
        data: dict[str, Any] | None = r.json()["data"] if r.status_code == 200 else None
        return data

    def _rule(self, case: Any, message: str, url: str = "") -> str | None:
        op = f"{case.method} {case.path.rsplit('/kit/', 1)[-1]}"
        body = case.body if isinstance(case.body, dict) else {}
        limit = self.server.settings.max_query_bytes
        if message == f"BAD_REQUEST: query string is longer than {limit} bytes":
            # docs/behaviour.md: at most 8,192 bytes; OpenAPI has no bound on a whole query.
            return "a query string over the limit" if len(urlsplit(url).query) > limit else None
        if message == 'BAD_REQUEST: "start_time" must not be later than end_time':
            # Both lists: a window JSON Schema cannot compare its two ends for.
            start, end = (_last(case.query or {}, k) for k in ("start_time", "end_time"))
            s, e = (None if v is None else _utc_ms(v) for v in (start, end))
            return "start_time > end_time" if s is not None and e is not None and s > e else None
        if op == "PUT {app_id}/recordings/{recording_id}":
            rec = self._get(f"/recordings/{case.path_parameters['recording_id']}")
            action = body.get("action")
            if rec is None or (action, rec["status"]) not in _REFUSED:
                return None
            expected = f"BAD_REQUEST: cannot {action} a recording that is {rec['status']}"
            return "an action the recording's status refuses" if message == expected else None
        if op.startswith(
            ("POST {app_id}/webhooks", "PATCH {app_id}/webhooks", "PUT {app_id}/webhooks")
        ):
            return self._webhook_rule(case, message, body)
        if op == "POST {app_id}/recordings" and isinstance(body.get("url"), str):
            page = _page_rule(message, body["url"])
            if page is not None:
                return page
        if op not in ("POST {app_id}/recordings", "POST {app_id}/recordings/track"):
            return None
        meeting_id = str(body.get("meeting_id", "")).lower()
        meeting = self._get(f"/meetings/{meeting_id}")
        if meeting is None:
            return None
        if meeting["status"] == "INACTIVE":
            inactive = f"BAD_REQUEST: meeting {meeting_id} is INACTIVE"
            return "an INACTIVE meeting" if message == inactive else None
        with self.server.db.transaction() as tx:
            session = sessions.live_for_meeting(tx, self.tenant.app_id, meeting_id)
            active = live.active_for_meeting(tx, self.tenant.app_id, meeting_id)
        if op.endswith("/track"):
            if message == f"BAD_REQUEST: meeting {meeting_id} has no live session":
                return "a track recording without a live session" if session is None else None
            if message == "BAD_REQUEST: meeting already has an active track recording":
                busy = any(r.kind == "track" for r in active)
                return "a meeting already recording its tracks" if busy else None
            return None
        if message == "BAD_REQUEST: meeting already has an active recording":
            running = [r for r in active if r.kind == "composite"]
            # Several at once only if this start and every running one asked for it.
            alone = body.get("allow_multiple_recordings") is not True or not all(
                r.allow_multiple for r in running
            )
            return "a meeting already recording" if running and alone else None
        if message.startswith("BAD_REQUEST: the recording has nowhere to go"):
            with self.server.db.transaction() as tx:
                app = apps_repo.recording_config(tx, self.tenant.app_id) or {}
            layers = [body, meeting.get("recording_config") or {}, app]
            bucket = next(
                (
                    la["realtimekit_bucket_config"]
                    for la in layers
                    if "realtimekit_bucket_config" in la
                ),
                {"enabled": True},
            )
            storage = next((la["storage_config"] for la in layers if "storage_config" in la), None)
            return (
                "a recording with nowhere to go"
                if (bucket.get("enabled") is False and storage is None)
                else None
            )
        return None

    def _webhook_rule(self, case: Any, message: str, body: dict[str, Any]) -> str | None:
        """docs/behaviour.md, Webhooks: a URL resolving to a non-public address is refused
        (confirmed by resolving it here); redelivering for a disabled webhook is refused."""
        url = str(body.get("url", ""))
        if message.startswith('BAD_REQUEST: "url" resolves to ') and _resolves_private(url):
            return "a webhook URL resolving to a non-public address"
        if message.startswith('BAD_REQUEST: "enabled" is false'):
            hook = self._get(f"/webhooks/{case.path_parameters.get('webhook_id', '')}")
            return "redelivery for a disabled webhook" if hook and not hook["enabled"] else None
        return None


def _page_rule(message: str, url: str) -> str | None:
    """docs/behaviour.md, Recording a web page: a url naming no host, or whose host is or
    resolves to a non-public address, is refused; so is a page recording in anything but H.264
    with AAC (the meeting's and the app's recording_config count, which the body cannot say)."""
    if message == 'BAD_REQUEST: "url" must be an http:// or https:// URL with a host':
        return "a page url naming no host" if options.page_host(url) is None else None
    if message.startswith('BAD_REQUEST: "url" ') and "RECKIT_PAGE_ALLOW_PRIVATE" in message:
        host = options.page_host(url) or ""
        local = host == "localhost" or host.endswith(".localhost")
        return "a page url on a non-public address" if local or _resolves_private(url) else None
    if message.startswith("BAD_REQUEST: a recording with url is H.264 video with AAC audio"):
        return "a page recording in other codecs than H.264 and AAC"
    return None


def _resolves_private(url: str) -> bool:
    import ipaddress
    import socket

    try:
        host = urlsplit(url).hostname or ""
        infos = socket.getaddrinfo(host, 80, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return False
    ips = [ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos]
    return any(not ip.is_global for ip in ips)


# --- the run --------------------------------------------------------------------------------


@dataclass
class Outcome:
    requests: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    phases: dict[str, str] = field(default_factory=dict)
    # check name -> status -> how many times
    checks: dict[str, dict[str, int]] = field(default_factory=dict)


def _wfc_file(tmp: Path, owner: Tenant, peer: Tenant) -> Path:
    """Two identities for object_level_authorization: the tenant whose app is fuzzed, and a
    tenant of another account, who must not be able to read any of its objects."""
    path = tmp / "wfc-auth.json"
    users = [
        {
            "name": name,
            "fixedHeaders": [{"name": "Authorization", "value": t.auth["Authorization"]}],
        }
        for name, t in (("owner", owner), ("peer", peer))
    ]
    path.write_text(json.dumps({"auth": users}))
    return path


def _run(
    server: LiveServer, tenant: Tenant, made: Made, tmp: Path, seed: int
) -> tuple[Outcome, Excused]:
    peer = new_tenant(server.db)
    config = schemathesis.Config.from_dict(
        {
            "seed": seed,
            "base-url": server.api,
            # The leak watch learns no secrets from generated values (tests/support/leakwatch.py).
            "headers": {GENERATED: "1"},
            "auth": {
                "wfc": {
                    "path": str(_wfc_file(tmp, tenant, peer)),
                    "user": "owner",
                    "peers": ["owner", "peer"],
                }
            },
            # The tenant's account and app: another's is a 403 before anything else is read (those
            # answers are tests/http/test_errors.py's). Often the dataset's meetings and recordings,
            # else most IDs would be unknown (404).
            "dictionaries": {
                "meetings": {"values": [m.id for m in made.meetings]},
                "recordings": {"values": [r.id for r in made.recordings]},
            },
            "parameters": {
                "account_id": tenant.account_id,
                "app_id": tenant.app_id,
                "path.meeting_id": {"dictionary": "meetings", "probability": 0.5},
                "path.recording_id": {"dictionary": "recordings", "probability": 0.5},
                "query.meeting_id": {"dictionary": "meetings", "probability": 0.5},
                "body.meeting_id": {"dictionary": "meetings", "probability": 0.5},
            },
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": CI,
                "database": "none",
            },
            # Every check (they all default to on; named so that none is left off by a default),
            # max_response_time included.
            "checks": {
                "enabled": True,
                "max_response_time": MAX_RESPONSE_TIME_S,
                **{name: {"enabled": True} for name in ALL_CHECKS},
            },
            "phases": {
                name: {"enabled": True} for name in ("examples", "coverage", "fuzzing", "stateful")
            },
            "continue-on-failure": True,
            "workers": 1,
        }
    )
    schema = schemathesis.openapi.from_dict(openapi_document(), config=config)
    excused = Excused(server, tenant)
    schema.hook("filter_failure")(excused)

    @schema.hook("after_call")
    def reckit_validates(context: Any, case: Any, response: Any) -> None:
        # reckit's own reading of its document besides schemathesis's
        # (tests/support/openapi_check.py).
        kind = response.headers.get("content-type") or [""]
        if response.status_code != 405 and response.content:
            validate(
                case.method,
                case.formatted_path,
                response.status_code,
                kind[0] if isinstance(kind, list) else kind,
                response.json(),
            )

    out = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            label = f"{event.phase.value} {event.recorder.label}"
            out.requests[label] = out.requests.get(label, 0) + len(event.recorder.interactions)
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    tally = out.checks.setdefault(node.name, {})
                    tally[node.status.value] = tally.get(node.status.value, 0) + 1
                    info = node.failure_info
                    if info is None:
                        continue
                    curl = info.steps[-1].curl if info.steps else info.code_sample
                    out.failures.append(
                        f"[{event.phase.value}] {node.name}: {info.failure.title}"
                        f"\n{info.failure.message}\n{curl}"
                    )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            out.errors.append(repr(event))
        elif isinstance(event, events.PhaseFinished):
            out.phases[event.phase.name.value] = str(event.status.value)
    return out, excused


@pytest.mark.slow
def test_fuzz_every_check(server: LiveServer, tenant: Tenant, tmp_path: Path) -> None:
    made = make_dataset(server.db, tenant.app_id, 40)
    # One meeting with a live session, so that track recordings can start.
    with server.db.transaction(write=True) as tx:
        sessions.insert(
            tx, new_uuid(), tenant.app_id, made.meetings[0].id, None, int(time.time() * 1000)
        )
    seed = int(os.environ.get("RECKIT_FUZZ_SEED", "0" if CI else str(random.randrange(2**32))))
    started = time.monotonic()
    out, excused = _run(server, tenant, made, tmp_path, seed)
    elapsed = time.monotonic() - started
    total = sum(out.requests.values())
    print(
        f"\nfuzz seed {seed}: {total} requests in {elapsed:.1f} s; phases {out.phases}; "
        f"excused by prose rules: {excused.seen}; checks: {out.checks}"
    )
    assert not out.errors, f"seed {seed}: {out.errors}"
    unique = sorted(set(out.failures))
    assert not unique, f"seed {seed}: {len(unique)} failures:\n\n" + "\n\n".join(unique[:20])
    for phase in ("coverage", "fuzzing", "stateful"):
        assert out.phases.get(phase) == "success", out.phases
    # Every operation of the document, in both phases that go through them one by one.
    operations = {
        f"{method.upper()} {path}"
        for path, item in openapi_document()["paths"].items()
        for method in item
    }
    for phase in ("coverage", "fuzzing"):
        reached = {
            label.split(" ", 1)[1]
            for label, n in out.requests.items()
            if label.startswith(f"{phase} ") and n > 0
        }
        assert reached == operations, (phase, operations ^ reached)
    assert out.requests.get("stateful Stateful tests", 0) > 0, out.requests
    assert total >= MIN_REQUESTS, out.requests


# --- what random generation rarely draws: the document's regexes against the server's ---------
#
# The server reads values with Python (re, str.strip, its own parsers); a JSON Schema validator
# reads the document with ECMA 262 / Rust regexes, whose \s, \w and $ differ. These are the
# values where the two readings parted before; each must be valid in the document exactly when
# the server takes it.

_MEETING_ID = "0b6ad2f5-67e1-4bd2-9a4c-1d1d3e1c5c11"


def _doc_valid(schema: dict[str, Any], value: Any) -> bool:
    root = {**schema, "components": openapi_document()["components"]}
    return bool(jsonschema_rs.Draft202012Validator(root, validate_formats=True).is_valid(value))


def _start_accepted(body: dict[str, Any]) -> bool:
    try:
        options.check_start(bodies.decode(json.dumps(body).encode(), options.StartBody))
    except BadRequest:
        return False
    return True


def _query_accepted(name: str, value: str) -> bool:
    try:
        parse_list_query([(name, value)], 100)
    except BadRequest:
        return False
    return True


def _list_param(name: str) -> dict[str, Any]:
    path = openapi_document()["paths"]["/accounts/{account_id}/realtime/kit/{app_id}/recordings"]
    schema: dict[str, Any] = next(
        p["schema"] for p in path["get"]["parameters"] if p.get("name") == name
    )
    return schema


_START = {"$ref": "#/components/schemas/StartRecordingBody"}
BODIES = [
    *(
        {"meeting_id": _MEETING_ID, "file_name_prefix": p}
        for p in (
            "talk",
            "a b-c_d",
            "a\n",
            "a\x1c",
            "a\x85",
            "a\ufeff",
            "\u00e9",
            "a\u0301",
            "\u00b2",
            "\u0661",
            "\u203f",
            "",
            "a/b",
        )
    ),
    *(
        {"meeting_id": _MEETING_ID, "rtmp_out_config": {"rtmp_url": u}}
        for u in (
            "rtmp://h:1935/live/key",
            "http://a",
            "HTTP://a",
            "h://a",
            "a:b",
            "http://",
            "http://a b",
            "http://a\n",
            "http://a\x85",
            "http://a\ufeff",
            "http://a/\u3000",
            "http://a/\u200b",
        )
    ),
    *({"meeting_id": _MEETING_ID, "max_seconds": s} for s in (60, 60.0, 60.5, 86400.0, 59.0)),
    *({"meeting_id": _MEETING_ID, "video_config": {"width": w}} for w in (640.0, 640.5, 1921)),
    *(
        {"meeting_id": _MEETING_ID, "storage_config": s}
        for s in (
            {"type": "gcs", "bucket": "b"},
            {"type": "gcs", "bucket": ""},
            {"type": "gcs"},
            {"type": "aws", "access_key": "k", "region": "r", "bucket": "b"},
            {"type": "aws", "access_key": "k", "region": "", "bucket": "b"},
            {"type": "azure", "access_key": "k", "region": "", "bucket": "b"},
            {"type": "azure", "access_key": "k", "bucket": "b"},
            {
                "type": "sftp",
                "host": "h",
                "port": 22,
                "username": "u",
                "auth_method": "KEY",
                "private_key": "k",
            },
            {
                "type": "sftp",
                "host": "h",
                "port": 22.0,
                "username": "u",
                "auth_method": "KEY",
                "password": "p",
            },
            {
                "type": "sftp",
                "host": "h",
                "port": 22,
                "username": "u",
                "auth_method": "PASSWORD",
                "password": "p",
            },
            {
                "type": "sftp",
                "host": "h",
                "port": 22,
                "username": "",
                "auth_method": "PASSWORD",
                "password": "p",
            },
            None,
        )
    ),
    {"meeting_id": _MEETING_ID, "url": "http://a"},
    {
        "meeting_id": _MEETING_ID,
        "realtimekit_bucket_config": {"enabled": False},
        "storage_config": None,
    },
]


@pytest.mark.parametrize("body", BODIES, ids=repr)
def test_the_start_body_is_read_alike(body: dict[str, Any]) -> None:
    accepted = _start_accepted(body)
    # A refusal comes after decoding, in recordings/service.py, whatever the meeting: no bucket
    # with storage_config null (nowhere to go).
    accepted &= not (body.get("storage_config", 0) is None and "realtimekit_bucket_config" in body)
    assert _doc_valid(_START, body) == accepted, body


QUERIES = [
    *(
        ("status", s)
        for s in (
            "UPLOADED",
            "",
            "UPLOADED,ERRORED",
            " PAUSED , ,INVOKED ",
            "uploaded",
            "UPLOADED;ERRORED",
            "\x1cUPLOADED",
            "\ufeffUPLOADED",
        )
    ),
    *(("status[]", s) for s in ("ERRORED", "ERRORED,x")),
    *(("expired", e) for e in ("true", "FALSE", "tRuE", "yes", "1", "true\n", "")),
    *(
        ("start_time", t)
        for t in (
            "2026-01-01T00:00:00Z",
            "2026-01-01t00:00:00.123456789z",
            "2026-01-01T00:00:00+05:30",
            "2026-01-01",
            "0001-01-01T00:00:00+23:59",
            "2026-01-01T00:00:00.1234567890Z",
            "2026-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "2026-02-30",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "20260101T000000Z",
        )
    ),
    *(("meeting_id", m) for m in (_MEETING_ID, _MEETING_ID.upper(), _MEETING_ID[:-1], "")),
    # A final newline is not part of an ID or a time (Python's "$" would take it).
    ("meeting_id", _MEETING_ID + "\n"),
    ("start_time", "2026-01-01\n"),
    ("end_time", "2026-01-01T00:00:00Z\n"),
]


@pytest.mark.parametrize(("name", "value"), QUERIES, ids=repr)
def test_list_parameters_are_read_alike(name: str, value: str) -> None:
    schema = _list_param(name)
    if schema.get("type") == "array":
        schema = schema["items"]
    assert _doc_valid(schema, value) == _query_accepted(name, value)


@pytest.mark.parametrize(
    "name", ["app", " padded ", "\x1c", "\x85", "\u3000", "\ufeff", "\u200b", "a\x00b"], ids=repr
)
def test_app_names_are_read_alike(server: LiveServer, tenant: Tenant, name: str) -> None:
    apps = openapi_document()["paths"]["/accounts/{account_id}/realtime/kit/apps"]
    schema = apps["post"]["requestBody"]["content"]["application/json"]["schema"]
    r = httpx.post(
        f"{server.api}/accounts/{tenant.account_id}/realtime/kit/apps",
        json={"name": name},
        headers=tenant.auth,
        timeout=30,
    )
    assert r.status_code in (200, 400), r.text
    assert _doc_valid(schema, {"name": name}) == (r.status_code == 200), r.text
