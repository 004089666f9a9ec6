"""What happens once a recorder has handed its files in: they are in reckit's bucket; if the
recording has its own storage, one delivery job per file copies them there (retried with
backoff until confirmed); when every copy is confirmed the recording is UPLOADED, with signed
links to the bucket copy unless ``realtimekit_bucket_config.enabled`` is false (then the bucket
copy is deleted, its work done). A destination that keeps failing ends the recording ERRORED
with the reason, and the bucket copy stays, downloadable: nothing is lost."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from typing import Any

import orjson

from reckit.crypto import SecretBox, SecretsUnreadable
from reckit.db.engine import Database, Tx
from reckit.delivery.links import Links
from reckit.delivery.repository import for_recording, queue
from reckit.jobs import repository as jobs
from reckit.jobs.backoff import Backoff
from reckit.recording_options import SECRET_STORAGE_FIELDS, unsealed
from reckit.recordings import lifecycle
from reckit.recordings import live_repository as live
from reckit.recordings.lifecycle import Event
from reckit.recordings.models import Status, StoredRecording
from reckit.storage.base import StorageError
from reckit.storage.bucket import Bucket
from reckit.storage.registry import open_destination

log = logging.getLogger("reckit.delivery")


@dataclass(frozen=True)
class Publisher:
    bucket: Bucket
    links: Links
    retention_ms: int

    def download_fields(self, rec: StoredRecording, now: int) -> dict[str, Any]:
        files: dict[str, dict[str, Any]] = orjson.loads(rec.files or "{}")
        main = next((f for f in files.values() if f.get("role") != "audio"), None)
        audio = next((f for f in files.values() if f.get("role") == "audio"), None)
        expiry = now + self.retention_ms
        first = main or audio
        assert first is not None
        fields: dict[str, Any] = {
            "download_url": self.link(first["key"], expiry, now),
            "audio_download_url": self.link(audio["key"], expiry, now)
            if audio is not None and main is not None
            else None,
            "download_url_expiry": expiry,
        }
        if any(f.get("role") == "track" for f in files.values()):
            # Every participant's file its own link (render.tracks shows them).
            for f in files.values():
                f["download_url"] = self.link(f["key"], expiry, now)
            fields["files"] = orjson.dumps(files).decode()
        return fields

    def link(self, key: str, expiry_ms: int, now: int) -> str:
        filename = key.rsplit("/", 1)[-1]
        signed = self.bucket.presigned(key, expiry_ms, filename, now)
        return signed or self.links.url(key, expiry_ms)

    def delete_files(self, rec: StoredRecording) -> None:
        for f in orjson.loads(rec.files or "{}").values():
            self.bucket.delete(f["key"])


def _bucket_enabled(rec: StoredRecording) -> bool:
    config = orjson.loads(rec.config) if rec.config else {}
    return bool(config.get("bucket_enabled", True))


def files_in(
    tx: Tx,
    now: int,
    rec: StoredRecording,
    files: dict[str, dict[str, Any]],
    duration_s: float,
    publisher: Publisher,
) -> None:
    """Record the handed-in files (size and duration measured from them, decisions.md) and
    queue their delivery, or finish at once when there is nowhere else to send them."""
    _write(tx, rec, lifecycle.files_in(rec, files, duration_s), now)
    after = live.get_by_id(tx, rec.id)
    assert after is not None
    if rec.storage_config is None:
        _finish(tx, now, after, publisher)
        return
    queue(tx, rec.id, files, destination_host(orjson.loads(rec.storage_config)), now)


def _write(tx: Tx, rec: StoredRecording, change: lifecycle.Change | None, now: int) -> None:
    if change is not None:
        live.transition(tx, rec, change, now)


def _finish(tx: Tx, now: int, rec: StoredRecording, publisher: Publisher) -> None:
    if _bucket_enabled(rec):
        links: dict[str, Any] | None = publisher.download_fields(rec, now)
    else:
        # Every destination has confirmed its copy: the bucket copy's work is done.
        publisher.delete_files(rec)
        links = None
    _write(tx, rec, lifecycle.delivered(rec, now, links), now)


def _scrub(text: str, config: dict[str, Any]) -> str:
    """Defence in depth: no secret of the config may reach a reason, a log or a response,
    whatever a vendor's SDK put in its message."""
    for name in SECRET_STORAGE_FIELDS:
        value = config.get(name)
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "***")
    return text[:1000]


@dataclass(frozen=True)
class Policy:
    attempts: int
    backoff_ms: int
    lease_ms: int
    endpoints: dict[str, str]
    # delivery/runner.py: transfers at once in a process, at once per destination host, how
    # long one attempt may run before it counts as failed, and this node's ID (lease owner).
    concurrency: int = 8
    per_host: int = 2
    attempt_timeout_s: float = 300.0
    node_id: str | None = None

    @property
    def backoff(self) -> Backoff:
        """``attempts`` in all, waiting ``backoff_ms`` after the first failure, doubling."""
        return Backoff.doubling(self.backoff_ms, self.attempts)


def _destination_name(config: dict[str, Any]) -> str:
    where = config.get("bucket") or config.get("host") or "?"
    return f"{config.get('type')} {where!r}"


def destination_host(config: dict[str, Any]) -> str:
    """Which server a storage config's transfers go to, from its non-secret fields only: the
    key of the per-host bound (delivery/runner.py). Object stores by bucket (their names are
    global, or per region for DigitalOcean; an Azure container is told apart by name only, the
    account being in the sealed connection string), SFTP by host and port."""
    kind = str(config.get("type") or "?")
    if kind == "sftp":
        return f"sftp {config.get('host') or '?'}:{config.get('port') or 22}"
    bucket = str(config.get("bucket") or "?")
    if kind == "digitalocean":
        return f"digitalocean {str(config.get('region') or '').lower()}/{bucket}"
    return f"{kind} {bucket}"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. ``error`` None: delivered and confirmed; else the reason (no
    secret in it), whether another attempt may help, and whether the recording is still
    waiting for this transfer (``orphan``: it is not; the job just ends)."""

    error: str | None = None
    retryable: bool = True
    orphan: bool = False


def attempt(
    db: Database, box: SecretBox, publisher: Publisher, policy: Policy, job: jobs.Job
) -> Outcome:
    """One transfer of ``job``'s file to the recording's storage, outside any transaction (it
    may take minutes); nothing is written here (``settle`` does)."""
    with db.transaction() as tx:
        rec = live.get_by_id(tx, job.subject)
    if rec is None or rec.status != Status.UPLOADING or rec.storage_config is None:
        return Outcome("the recording is no longer waiting for this transfer", False, True)
    public: dict[str, Any] = orjson.loads(rec.storage_config)
    error, retryable, config = None, True, public
    try:
        config = unsealed(public, box)
        name = job.payload["name"]
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        destination = open_destination(
            config, policy.endpoints, attempt_timeout_s=policy.attempt_timeout_s
        )
        try:
            with publisher.bucket.local_copy(job.payload["key"]) as source:
                stat = destination.put(name, source, kind)
        finally:
            destination.close()
        if stat.size != int(job.payload["size"]):
            raise StorageError(f"{stat.size} bytes arrived of {job.payload['size']}")
    except SecretsUnreadable as exc:
        error, retryable = str(exc), False
    except StorageError as exc:
        error, retryable = str(exc), exc.retryable
    except Exception as exc:  # a vendor SDK's own failure: worth another try
        error = f"{type(exc).__name__}: {exc}"
    if error is None:
        return Outcome()
    return Outcome(
        _scrub(f"delivery to {_destination_name(public)} failed: {error}", config), retryable
    )


def timed_out(job: jobs.Job, policy: Policy) -> Outcome:
    """The outcome of an attempt still running past the attempt timeout: failed, retryable."""
    return Outcome(
        f"delivery to {job.host or 'its destination'} failed: the attempt did not finish within"
        f" {policy.attempt_timeout_s:g} s (RECKIT_DELIVERY_ATTEMPT_TIMEOUT); it was abandoned"
    )


def settle(
    db: Database, publisher: Publisher, policy: Policy, job: jobs.Job, outcome: Outcome, now: int
) -> bool:
    """Write ``outcome`` for the attempt that claimed ``job``: done (and the recording UPLOADED
    once all its files are), retried after a backoff, or failed (the recording ERRORED). Only
    while the job is still leased under that attempt's token: False, and nothing written, for
    an attempt that was already timed out, released or taken over (its result is stale)."""
    token = job.lease_token
    with db.transaction(write=True) as tx:
        # The recording's row first, then the job's, in every outcome: the two results of one
        # attempt (its timeout and its late end) and those of its sibling files never deadlock.
        live.get_by_id(tx, job.subject, lock=True)
        if outcome.error is None:
            if not jobs.succeed(tx, job.id, now, token):
                return _stale(job, "delivered")
            _finish_if_delivered(tx, now, job.subject, publisher)
            return True
        error = outcome.error
        if outcome.orphan:
            return jobs.fail(tx, job.id, error, now, token) or _stale(job, "ended")
        after = jobs.retry_or_fail(tx, job, error, now, policy.backoff, retryable=outcome.retryable)
        if after is None:
            return _stale(job, "failed")
        if after == jobs.FAILED:
            _give_up(tx, now, job.subject, error, publisher)
    log.warning("%s (attempt %d of %d)", error, job.attempts, policy.attempts)
    return True


def _stale(job: jobs.Job, what: str) -> bool:
    log.info(
        "delivery job %s: attempt %d %s after it was given up on; its result is ignored",
        job.id,
        job.attempts,
        what,
    )
    return False


def _finish_if_delivered(tx: Tx, now: int, recording_id: str, publisher: Publisher) -> None:
    # The recording's row lock first: two of its files confirmed at once (two transactions on
    # PostgreSQL) are then looked at one after the other, and the second sees both done.
    rec = live.get_by_id(tx, recording_id, lock=True)
    if rec is None or not lifecycle.allowed(rec.status, Event.DELIVERED):
        return
    if all(j.status == jobs.DONE for j in for_recording(tx, recording_id)):
        _finish(tx, now, rec, publisher)


def _give_up(tx: Tx, now: int, recording_id: str, reason: str, publisher: Publisher) -> None:
    rec = live.get_by_id(tx, recording_id, lock=True)
    if rec is None or not lifecycle.allowed(rec.status, Event.GIVEN_UP):
        return
    # The bucket copy stays, and stays downloadable, whatever the bucket setting: it is the
    # only copy left.
    _write(tx, rec, lifecycle.given_up(rec, reason, publisher.download_fields(rec, now)), now)


def purge_expired(tx: Tx, now: int, publisher: Publisher) -> int:
    """Retention (wire-spec §5.4, §7 item 44): bucket copies past their expiry are deleted; the
    recording stays listed with its expiry, and its links answer 410."""
    due = live.due_for_purge(tx, now)
    for rec in due:
        publisher.delete_files(rec)
        live.mark_purged(tx, rec.id, now)
    return len(due)
