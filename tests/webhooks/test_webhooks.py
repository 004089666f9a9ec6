"""Webhooks without the HTTP layer: the outbox written with the change it reports, bodies signed
once, the sender's retries, final failures, pauses and order against real receivers on
127.0.0.1, cancellation, and the SSRF guard. Time is a ManualClock: the schedule is moved, not
waited for."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reckit.capture import service as capture
from reckit.clock import ManualClock
from reckit.db.engine import Database, Tx
from reckit.errors import BadRequest
from reckit.ids import new_uuid
from reckit.jobs import repository as jobs
from reckit.recordings import lifecycle
from reckit.recordings import live_repository as live
from reckit.sessions.repository import Source
from reckit.webhooks import service
from reckit.webhooks.models import KINDS
from reckit.webhooks.runner import WebhookPolicy, WebhookRunner
from tests.support.builders import NOW, add_meeting, add_recording
from tests.support.live import Tenant, new_tenant
from tests.support.pg import own_database
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def db(engine: str, tmp_path: Path) -> Iterator[Database]:
    with own_database(engine, tmp_path) as store:
        yield store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def runner(db: Database, clock: ManualClock) -> Iterator[WebhookRunner]:
    r = WebhookRunner(
        db,
        clock,
        WebhookPolicy(node_id="node-a", allow_private=True, timeout_s=5, connect_timeout_s=2),
    )
    yield r
    r.close()


def subscribe(
    db: Database, t: Tenant, url: str, events: list[str] | None = None, allow_private: bool = True
) -> str:
    body = {"name": "hook", "url": url, "events": events or ["recording.statusUpdate"]}
    with db.transaction(write=True) as tx:
        made = service.create(tx, NOW, t.app_id, orjson.dumps(body), allow_private)
    return str(made["id"])


def begin(db: Database, t: Tenant, rec_id: str, now: int = NOW) -> None:
    """INVOKED → RECORDING through the one writer."""
    with db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, rec_id, lock=True)
        assert rec is not None
        change = lifecycle.began(rec, now, None)
        assert change is not None and live.transition(tx, rec, change, now)


def stop(db: Database, rec_id: str, now: int) -> None:
    with db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, rec_id, lock=True)
        assert rec is not None
        change = lifecycle.act(rec, "stop", now)
        assert change is not None and live.transition(tx, rec, change, now)


def began_then_rolled_back(db: Database, rec_id: str, hook: str) -> None:
    with db.transaction(write=True) as tx:
        rec = live.get_by_id(tx, rec_id, lock=True)
        assert rec is not None
        change = lifecycle.began(rec, NOW, None)
        assert change is not None and live.transition(tx, rec, change, NOW)
        assert len(jobs.for_subject(tx, hook, KINDS)) == 1
        raise RuntimeError("rolled back")


def new_recording(db: Database, t: Tenant) -> str:
    meeting = add_meeting(db, t.app_id, "Weekly sync")
    return add_recording(db, t.app_id, meeting.id, status="INVOKED").id


def public_key(db: Database) -> rsa.RSAPublicKey:
    with db.transaction(write=True) as tx:
        pem = service.public_key(tx, NOW)
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def verify(key: rsa.RSAPublicKey, body: bytes, signature: str) -> None:
    key.verify(base64.b64decode(signature), body, padding.PKCS1v15(), hashes.SHA256())


def deliveries(db: Database, t: Tenant, hook: str) -> list[dict[str, object]]:
    with db.transaction() as tx:
        return service.deliveries(tx, t.app_id, hook)


def test_a_status_change_queues_its_signed_event_in_the_same_transaction(
    db: Database, runner: WebhookRunner
) -> None:
    t = new_tenant(db)
    with Receiver() as receiver:
        hook = subscribe(db, t, receiver.url)
        rec_id = new_recording(db, t)
        # A transaction that rolls back leaves no event behind.
        with pytest.raises(RuntimeError):
            began_then_rolled_back(db, rec_id, hook)
        with db.transaction() as tx:
            assert jobs.for_subject(tx, hook, KINDS) == []
        begin(db, t, rec_id)
        assert runner.drain() == 1
        (got,) = receiver.wait_for(1)
    body = orjson.loads(got.body)
    assert body["event"] == "recording.statusUpdate"
    assert body["recording"]["status"] == "RECORDING"
    assert body["recording"]["id"] == body["recording"]["recordingId"] == rec_id
    assert body["recording"]["organizationId"] == t.app_id
    assert body["recording"]["startedTime"].endswith("Z")
    assert body["meeting"]["title"] == "Weekly sync"
    assert body["meeting"]["organizedBy"] == {"id": t.app_id, "name": "test app"}
    assert got.headers["rtk-webhook-id"] == hook
    assert got.headers["content-type"] == "application/json"
    # Compact, as a receiver's JSON.stringify(JSON.parse(body)) would write it.
    assert got.body == orjson.dumps(orjson.loads(got.body))
    verify(public_key(db), got.body, got.headers["rtk-signature"])
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 1, 200)


def test_500_twice_then_200_is_three_attempts_of_the_same_bytes(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    with Receiver([500, 500]) as receiver:
        hook = subscribe(db, t, receiver.url)
        begin(db, t, new_recording(db, t))
        assert runner.run_once() == 1
        assert runner.run_once() == 0  # not due before the backoff's 10 s (±20 %)
        clock.advance(12_001)
        assert runner.run_once() == 1
        clock.advance(72_001)
        assert runner.run_once() == 1
        clock.advance(3_600_000)
        assert runner.run_once() == 0
        got = receiver.wait_for(3)
    assert len(got) == 3
    assert len({r.body for r in got}) == 1
    assert len({r.headers["rtk-uuid"] for r in got}) == 1
    assert len({r.headers["rtk-signature"] for r in got}) == 1
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 3, 200)
    assert [h["status_code"] for h in d["history"]] == [500, 500, 200]  # type: ignore[attr-defined]


def test_a_400_is_final_after_one_attempt(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    with Receiver([400]) as receiver:
        hook = subscribe(db, t, receiver.url)
        begin(db, t, new_recording(db, t))
        assert runner.run_once() == 1
        for _ in range(6):
            clock.advance(3 * 3_600_000)
            assert runner.run_once() == 0
        assert len(receiver.wait_for(1)) == 1
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("failed", 1, 400)


def test_a_receiver_that_is_down_gets_the_event_when_it_comes_back(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    receiver = Receiver()  # not listening yet
    hook = subscribe(db, t, receiver.url)
    begin(db, t, new_recording(db, t))
    for wait in (0, 12_001, 72_001):  # the first attempt, then two retries: all refused
        clock.advance(wait)
        assert runner.run_once() == 1
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 3, None)
    with receiver:
        clock.advance(360_001)  # the third retry is due 5 min (±20 %) later
        assert runner.run_once() == 1
        assert len(receiver.wait_for(1)) == 1
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 4, 200)


def test_deliveries_of_one_recording_go_in_order(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    with Receiver([503]) as receiver:
        subscribe(db, t, receiver.url)
        rec_id = new_recording(db, t)
        begin(db, t, rec_id)
        stop(db, rec_id, NOW + 1_000)
        assert runner.run_once() == 1  # RECORDING fails; UPLOADING waits behind it
        assert runner.run_once() == 0
        clock.advance(12_001)
        assert runner.run_once() == 1  # RECORDING again
        assert runner.run_once() == 1  # then UPLOADING
        got = receiver.wait_for(3)
    statuses = [orjson.loads(r.body)["recording"]["status"] for r in got]
    assert statuses == ["RECORDING", "RECORDING", "UPLOADING"]


def test_disabling_or_deleting_a_webhook_cancels_its_pending_deliveries(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    with Receiver([500]) as receiver:
        first = subscribe(db, t, receiver.url)
        second = subscribe(db, t, receiver.url)
        begin(db, t, new_recording(db, t))
        assert runner.run_once() == 2  # one 500 (retried later), one 200
        with db.transaction(write=True) as tx:
            pending = [
                j
                for j in jobs.for_subject(tx, first, KINDS) + jobs.for_subject(tx, second, KINDS)
                if j.status == jobs.PENDING
            ]
            assert len(pending) == 1
            hook = pending[0].subject
            service.edit(tx, NOW, t.app_id, hook, b'{"enabled": false}', True)
        clock.advance(3_600_000)
        assert runner.run_once() == 0
        assert len(receiver.wait_for(2)) == 2
        (d,) = deliveries(db, t, hook)
        assert d["status"] == "cancelled"
        # Deleting does the same, and answers with the deleted webhook.
        with db.transaction(write=True) as tx:
            service.edit(tx, NOW, t.app_id, hook, b'{"enabled": true}', True)
        stop_id = new_recording(db, t)
        begin(db, t, stop_id)
        with db.transaction(write=True) as tx:
            gone = service.delete(tx, NOW, t.app_id, hook)
            assert gone["id"] == hook and gone["enabled"] is True
            assert [j.status for j in jobs.for_subject(tx, hook, KINDS)][-1] == "cancelled"


def test_cancel_in_the_jobs_queue(db: Database) -> None:
    """A cancelled job is never claimed; the next job of its key may go; the attempt that held
    it finds its token gone and writes nothing."""
    with db.transaction(write=True) as tx:
        a = jobs.add(tx, "k", "s1", {}, NOW, key="one")
        b = jobs.add(tx, "k", "s2", {}, NOW, key="one")
        (held,) = jobs.claim_due(tx, NOW, 60_000, 10, kinds=["k"], owner="n")
        assert held.id == a
        assert jobs.cancel(tx, "s1", ["k"], NOW) == 1
        assert jobs.cancel(tx, "s1", ["other"], NOW) == 0
        assert jobs.succeed(tx, a, NOW, held.lease_token) is False
        cancelled = jobs.get(tx, a)
        assert cancelled is not None and cancelled.status == jobs.CANCELLED
        (nxt,) = jobs.claim_due(tx, NOW, 60_000, 10, kinds=["k"], owner="n")
        assert nxt.id == b


def test_private_urls_are_refused_at_create_and_at_send(db: Database, clock: ManualClock) -> None:
    t = new_tenant(db)
    for url in (
        "http://127.0.0.1:9/hook",
        "http://localhost/x",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]:8080/",
    ):
        with pytest.raises(BadRequest, match='"url" resolves to'):
            subscribe(db, t, url, allow_private=False)
    with Receiver() as receiver:
        subscribe(db, t, receiver.url)  # allowed when it was made; refused when sent
        begin(db, t, new_recording(db, t))
        strict = WebhookRunner(db, clock, WebhookPolicy(node_id="n", allow_private=False))
        try:
            assert strict.run_once() == 1
        finally:
            strict.close()
        assert receiver.received == []
    with db.transaction() as tx:
        (w,) = service.list_webhooks(tx, t.app_id)
    (d,) = deliveries(db, t, str(w["id"]))
    assert d["status"] == "failed" and "refused" in str(d["last_error"])


def test_a_url_failing_again_and_again_is_paused_and_nothing_is_dropped(
    db: Database, clock: ManualClock
) -> None:
    t = new_tenant(db)
    policy = WebhookPolicy(node_id="n", allow_private=True, pause_after=2, first_pause_ms=60_000)
    r = WebhookRunner(db, clock, policy)
    try:
        with Receiver([500, 500]) as receiver:
            subscribe(db, t, receiver.url)
            for _ in range(2):
                begin(db, t, new_recording(db, t))
            assert r.run_once() == 2  # two failures in a row: the URL pauses for 60 s
            clock.advance(12_001)  # both retries are due, but the URL is paused
            assert r.run_once() == 0
            clock.advance(60_000)
            assert r.run_once() == 2
            assert len(receiver.wait_for(4)) == 4
    finally:
        r.close()


def test_the_key_is_made_once_and_rotation_replaces_it(db: Database) -> None:
    first = public_key(db)
    assert first.key_size == 2048
    assert public_key(db).public_numbers() == first.public_numbers()
    with db.transaction(write=True) as tx:
        service.rotate_key(tx, NOW)
    assert public_key(db).public_numbers() != first.public_numbers()


def test_validation_names_the_field(db: Database) -> None:
    t = new_tenant(db)
    cases = {
        b'{"url": "https://example.com", "events": ["meeting.started"]}': '"name" is required',
        b'{"name": "a", "url": "ftp://x", "events": ["meeting.started"]}': '"url"',
        b'{"name": "a", "url": "https://example.com", "events": []}': '"events"',
        b'{"name": "a", "url": "https://example.com", "events": ["nope"]}': '"events[0]"',
        b'{"name": "a", "url": "https://example.com", "events": ["meeting.started"],'
        b' "enabled": "yes"}': '"enabled"',
    }
    for raw, message in cases.items():
        with pytest.raises(BadRequest, match=re.escape(message)), db.transaction(write=True) as tx:
            service.create(tx, NOW, t.app_id, raw, False)


def test_meeting_events_come_from_media_plane_sessions(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    meeting = add_meeting(db, t.app_id, "Standup")
    session = new_uuid()
    events = [
        "meeting.started",
        "meeting.ended",
        "meeting.participantJoined",
        "meeting.participantLeft",
    ]
    with Receiver() as receiver:
        subscribe(db, t, receiver.url, events)
        steps: list[Callable[[Tx], None]] = [
            lambda tx: capture.session_started(tx, NOW, t.app_id, meeting.id, session, None),
            lambda tx: capture.participant_joined(
                tx, NOW + 1_000, session, Source("p1", "user-1", "Ada", None)
            ),
            lambda tx: capture.participant_joined(  # a replay: already in, no event
                tx, NOW + 1_500, session, Source("p1", "user-1", "Ada", None)
            ),
            lambda tx: capture.participant_left(tx, NOW + 2_000, session, "p1"),
            lambda tx: capture.session_ended(tx, NOW + 3_000, session),
            lambda tx: capture.session_ended(tx, NOW + 4_000, session),  # a replay
        ]
        for step in steps:
            with db.transaction(write=True) as tx:
                step(tx)
        clock.advance(5_000)  # every event due (each is due from its change)
        assert runner.drain() == 4
        got = [orjson.loads(r.body) for r in receiver.wait_for(4)]
    assert [b["event"] for b in got] == [
        "meeting.started",
        "meeting.participantJoined",
        "meeting.participantLeft",
        "meeting.ended",
    ]
    started, joined, left, ended = got
    m = started["meeting"]
    assert (m["id"], m["sessionId"], m["title"], m["status"]) == (
        meeting.id,
        session,
        "Standup",
        "LIVE",
    )
    assert m["organizedBy"] == {"id": t.app_id, "name": "test app"}
    assert m["startedAt"] == "2026-09-21T14:13:20.000Z" and "endedAt" not in m
    assert joined["participant"] == {
        "peerId": "p1",
        "userDisplayName": "Ada",
        "customParticipantId": "user-1",
        "joinedAt": "2026-09-21T14:13:21.000Z",
    }
    assert left["participant"]["leftAt"] == "2026-09-21T14:13:22.000Z"
    assert ended["reason"] == "ALL_PARTICIPANTS_LEFT"
    assert ended["meeting"]["endedAt"] == "2026-09-21T14:13:23.000Z"


def test_a_redirect_is_not_followed_and_is_final(
    db: Database, runner: WebhookRunner, clock: ManualClock
) -> None:
    t = new_tenant(db)
    with Receiver([302]) as receiver:
        hook = subscribe(db, t, receiver.url)
        begin(db, t, new_recording(db, t))
        assert runner.run_once() == 1
        clock.advance(3 * 3_600_000)
        assert runner.run_once() == 0
        assert len(receiver.wait_for(1)) == 1
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("failed", 1, 302)


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    db: Database, clock: ManualClock
) -> None:
    t = new_tenant(db)
    policy = WebhookPolicy(node_id="n", allow_private=True, timeout_s=0.5, connect_timeout_s=0.5)
    quick = WebhookRunner(db, clock, policy)
    try:
        with Receiver() as receiver:
            hook = subscribe(db, t, receiver.url)
            begin(db, t, new_recording(db, t))
            receiver.answering.clear()  # it reads the request, then says nothing
            assert quick.run_once() == 1
            receiver.answering.set()
            (d,) = deliveries(db, t, hook)
            assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, None)
            assert "timed out" in str(d["last_error"])
            clock.advance(12_001)
            assert quick.run_once() == 1
            got = receiver.wait_for(2)
    finally:
        quick.close()
    assert got[0].body == got[1].body
    (d,) = deliveries(db, t, hook)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 2, 200)
