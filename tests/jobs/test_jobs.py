"""The jobs queue (reckit.jobs) on both engines: competing nodes claim disjoint jobs; a lease
that runs out hands its job over and the old holder's token writes nothing; jobs of one key run
one at a time, in the order they were added (also when their adders race); the backoff.

Every test queues jobs of a kind of its own and claims only that kind, so tests sharing a store
never see each other's jobs."""

from __future__ import annotations

import random
import threading

import pytest

from reckit.db.engine import Database
from reckit.ids import new_uuid
from reckit.jobs import repository as jobs
from reckit.jobs.backoff import Backoff
from tests.support.builders import NOW

LEASE = 60_000


@pytest.fixture
def kind() -> str:
    return f"test-{new_uuid()}"


def _add(db: Database, kind: str, n: int, *, key: str | None = None) -> list[str]:
    with db.transaction(write=True) as tx:
        return [jobs.add(tx, kind, f"subject-{i}", {"i": i}, NOW, key=key) for i in range(n)]


def _claim(db: Database, kind: str, now: int, owner: str, limit: int = 10) -> list[jobs.Job]:
    with db.transaction(write=True) as tx:
        return jobs.claim_due(tx, now, LEASE, limit, kinds=[kind], owner=owner)


def _get(db: Database, job_id: str) -> jobs.Job:
    with db.transaction() as tx:
        job = jobs.get(tx, job_id)
    assert job is not None
    return job


def test_two_nodes_racing_claim_disjoint_jobs(database: Database, kind: str) -> None:
    added = set(_add(database, kind, 30))
    claimed: dict[str, list[jobs.Job]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def node(name: str) -> None:
        start.wait()
        while batch := _claim(database, kind, NOW, name, limit=3):
            claimed[name] += batch

    threads = [threading.Thread(target=node, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = ({j.id for j in claimed[n]} for n in claimed)
    assert not a & b and a | b == added
    assert len(claimed["a"]) + len(claimed["b"]) == len(added)  # none twice
    for name, held in claimed.items():
        for job in held:
            stored = _get(database, job.id)
            assert (stored.lease_owner, stored.lease_token, stored.attempts) == (
                name,
                job.lease_token,
                1,
            )


def test_a_claim_under_way_does_not_hold_up_another_node(database: Database, kind: str) -> None:
    """Node A's claim is still in its transaction when node B claims: B gets other jobs (on
    PostgreSQL at once, passing over A's locked rows; SQLite has one writer, so B waits)."""
    added = set(_add(database, kind, 6))
    a_claimed, b_done = threading.Event(), threading.Event()
    got: dict[str, set[str]] = {}

    def node_b() -> None:
        a_claimed.wait(10)
        got["b"] = {j.id for j in _claim(database, kind, NOW, "b", limit=3)}
        b_done.set()

    thread = threading.Thread(target=node_b)
    thread.start()
    with database.transaction(write=True) as tx:
        got["a"] = {j.id for j in jobs.claim_due(tx, NOW, LEASE, 3, kinds=[kind], owner="a")}
        a_claimed.set()
        b_while_a_open = b_done.wait(2 if database.dialect == "postgres" else 0.2)
    thread.join(30)
    assert got["a"] | got["b"] == added and not got["a"] & got["b"]
    assert b_while_a_open == (database.dialect == "postgres")


def test_a_lease_that_runs_out_hands_the_job_over(database: Database, kind: str) -> None:
    (job_id,) = _add(database, kind, 1)
    (first,) = _claim(database, kind, NOW, "node-a")
    assert _claim(database, kind, NOW + LEASE - 1, "node-b") == []  # still node A's
    (second,) = _claim(database, kind, NOW + LEASE, "node-b")
    assert second.id == job_id and second.attempts == 2 and second.lease_owner == "node-b"
    assert second.lease_token != first.lease_token
    # Node A's attempt ends late: its token no longer holds the job, and nothing is written.
    with database.transaction(write=True) as tx:
        assert not jobs.succeed(tx, job_id, NOW + LEASE + 1, first.lease_token)
        assert not jobs.retry_at(tx, job_id, NOW + 9 * LEASE, "late", NOW, first.lease_token)
        assert not jobs.fail(tx, job_id, "late", NOW + LEASE + 1, first.lease_token)
        assert not jobs.release(tx, job_id, str(first.lease_token), NOW + LEASE + 1)
        backoff = Backoff((1_000,))
        assert jobs.retry_or_fail(tx, first, "late", NOW + LEASE + 1, backoff) is None
        assert not jobs.succeed(tx, job_id, NOW + LEASE + 1, None)  # never claimed: nothing
    unchanged = _get(database, job_id)
    assert (unchanged.status, unchanged.lease_token, unchanged.attempts) == (
        jobs.PENDING,
        second.lease_token,
        2,
    )
    assert unchanged.last_error is None and unchanged.next_at == NOW
    with database.transaction(write=True) as tx:
        assert jobs.succeed(tx, job_id, NOW + LEASE + 2, second.lease_token)
    done = _get(database, job_id)
    assert done.status == jobs.DONE and done.lease_token is None and done.lease_owner is None


def test_release_gives_a_lease_back_and_release_owned_a_nodes(
    database: Database, kind: str
) -> None:
    owner = f"node-{new_uuid()}"
    ids = _add(database, kind, 3)
    held = _claim(database, kind, NOW, owner)
    assert {j.id for j in held} == set(ids)
    with database.transaction(write=True) as tx:
        assert jobs.release(tx, held[0].id, str(held[0].lease_token), NOW + 1)  # shutting down
        assert jobs.release_owned(tx, owner, NOW + 1) == 2  # restarted
    back = {j.id: j for j in (_get(database, i) for i in ids)}
    assert back[held[0].id].attempts == 0  # a release does not count the attempt
    assert all(j.lease_token is None and j.status == jobs.PENDING for j in back.values())
    assert sorted(j.attempts for j in back.values()) == [0, 1, 1]
    assert {j.id for j in _claim(database, kind, NOW + 1, "other")} == set(ids)


def test_a_claim_takes_only_its_kinds_and_lists_by_subject(database: Database, kind: str) -> None:
    other = f"{kind}-other"
    subject = f"rec-{new_uuid()}"
    with database.transaction(write=True) as tx:
        mine = jobs.add(tx, kind, subject, {"n": 1}, NOW, host="sftp h:22")
        theirs = jobs.add(tx, other, subject, {"n": 2}, NOW)
        later = jobs.add(tx, kind, subject, {"n": 3}, NOW, due_ms=NOW + 5_000)
    assert [j.id for j in _claim(database, kind, NOW, "n")] == [mine]
    with database.transaction(write=True) as tx:
        assert jobs.claim_due(tx, NOW, LEASE, 5, kinds=[]) == []
        assert jobs.claim_due(tx, NOW + 5_000, LEASE, 5, kinds=[kind], skip_hosts={"x"}) != []
    with database.transaction() as tx:
        assert {j.id for j in jobs.for_subject(tx, subject)} == {mine, theirs, later}
        assert [j.id for j in jobs.for_subject(tx, subject, [other])] == [theirs]
        assert jobs.for_subject(tx, subject, []) == []
        first = jobs.get(tx, mine)
    assert first is not None and first.payload == {"n": 1} and first.host == "sftp h:22"
    assert first.subject == subject and first.kind == kind and first.key is None


# --- ordering per key --------------------------------------------------------------------


def test_jobs_of_one_key_run_one_at_a_time_in_order(database: Database, kind: str) -> None:
    key, other_key = f"webhook-1/{new_uuid()}", f"webhook-2/{new_uuid()}"
    with database.transaction(write=True) as tx:
        first, second, third = (jobs.add(tx, kind, "r", {"n": n}, NOW, key=key) for n in range(3))
        elsewhere = jobs.add(tx, kind, "r", {}, NOW, key=other_key)
        free = jobs.add(tx, kind, "r", {}, NOW)
    # One of each key at a time; jobs without a key are never held back.
    claimed = _claim(database, kind, NOW, "n")
    assert {j.id for j in claimed} == {first, elsewhere, free}
    assert _get(database, second).key == key
    held = next(j for j in claimed if j.id == first)
    # The first waits for a retry: still pending, so the second still waits.
    backoff = Backoff((10_000,))
    with database.transaction(write=True) as tx:
        assert jobs.retry_or_fail(tx, held, "503", NOW, backoff) == jobs.PENDING
    assert _claim(database, kind, NOW + 9_999, "n") == []
    (again,) = _claim(database, kind, NOW + 10_000, "n")
    assert again.id == first
    # Failed for good (its last attempt): the next one may go.
    with database.transaction(write=True) as tx:
        assert jobs.retry_or_fail(tx, again, "503", NOW + 10_000, backoff) == jobs.FAILED
    (next_one,) = _claim(database, kind, NOW + 10_000, "n")
    assert next_one.id == second
    with database.transaction(write=True) as tx:
        assert jobs.succeed(tx, second, NOW + 10_001, next_one.lease_token)
    assert [j.id for j in _claim(database, kind, NOW + 10_001, "n")] == [third]


def test_racing_adders_of_one_key_keep_the_order_they_commit_in(
    database: Database, kind: str
) -> None:
    """A adds a job of the key and holds its transaction open; B adds one of the same key
    meanwhile. B waits for A (PostgreSQL: the key's advisory lock; SQLite: the writer's lock),
    so B's job comes after A's: never both first."""
    key = f"k-{new_uuid()}"
    a_added, b_added = threading.Event(), threading.Event()
    ids: dict[str, str] = {}

    def adder_b() -> None:
        a_added.wait(10)
        with database.transaction(write=True) as tx:
            ids["b"] = jobs.add(tx, kind, "r", {"by": "b"}, NOW, key=key)
        b_added.set()

    thread = threading.Thread(target=adder_b)
    thread.start()
    with database.transaction(write=True) as tx:
        ids["a"] = jobs.add(tx, kind, "r", {"by": "a"}, NOW, key=key)
        a_added.set()
        assert not b_added.wait(0.3)  # B waits for A to commit
    thread.join(30)
    assert b_added.is_set()
    (claimed,) = _claim(database, kind, NOW, "n")
    assert claimed.id == ids["a"]
    with database.transaction(write=True) as tx:
        assert jobs.succeed(tx, claimed.id, NOW, claimed.lease_token)
    assert [j.id for j in _claim(database, kind, NOW, "n")] == [ids["b"]]


# --- backoff -----------------------------------------------------------------------------


def test_the_backoff_schedule() -> None:
    doubling = Backoff.doubling(5_000, 4)
    assert doubling.delays_ms == (5_000, 10_000, 20_000) and doubling.attempts == 4
    assert [doubling.delay_ms(n) for n in range(0, 6)] == [None, 5_000, 10_000, 20_000, None, None]
    assert Backoff.doubling(5_000, 1).delay_ms(1) is None  # one attempt: no retry
    assert Backoff.doubling(5_000, 0).attempts == 1
    schedule = Backoff((10_000, 60_000, 300_000, 1_800_000, 7_200_000), jitter=0.2)
    rng = random.Random(1)
    for attempt, base in enumerate(schedule.delays_ms, start=1):
        samples = [schedule.delay_ms(attempt, rng) for _ in range(500)]
        assert all(s is not None and 0.8 * base <= s <= 1.2 * base for s in samples)
        spread = {s for s in samples if s is not None}
        assert min(spread) < 0.85 * base and max(spread) > 1.15 * base  # it does spread
    assert schedule.delay_ms(6, rng) is None
    with pytest.raises(ValueError, match="jitter"):
        Backoff((1,), jitter=1.5)


def test_retry_or_fail_follows_the_backoff(database: Database, kind: str) -> None:
    (job_id,) = _add(database, kind, 1)
    backoff = Backoff.doubling(5_000, 3)
    now, waits = NOW, []
    while True:
        (job,) = _claim(database, kind, now, "n")
        with database.transaction(write=True) as tx:
            after = jobs.retry_or_fail(tx, job, f"attempt {job.attempts}", now, backoff)
        stored = _get(database, job_id)
        assert stored.last_error == f"attempt {job.attempts}" and stored.lease_token is None
        if after == jobs.FAILED:
            break
        assert after == jobs.PENDING
        waits.append(stored.next_at - now)
        now = stored.next_at
    assert waits == [5_000, 10_000] and stored.status == jobs.FAILED and stored.attempts == 3
    # A final error is not retried, whatever attempts are left.
    (other,) = _add(database, kind, 1)
    (job,) = _claim(database, kind, now, "n")
    with database.transaction(write=True) as tx:
        assert jobs.retry_or_fail(tx, job, "401", now, backoff, retryable=False) == jobs.FAILED
    assert _get(database, other).status == jobs.FAILED
