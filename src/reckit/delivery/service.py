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
from reckit.delivery import repository as jobs
from reckit.delivery.links import Links
from reckit.recordings import live_repository as live
from reckit.recordings.models import SECRET_STORAGE_FIELDS, Status, StoredRecording
from reckit.recordings.options import unsealed
from reckit.storage.base import StorageError
from reckit.storage.bucket import Bucket
from reckit.storage.registry import open_destination

log = logging.getLogger("reckit.delivery")
DELIVER = "deliver"


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
            if audio is not None and main is not None else None,
            "download_url_expiry": expiry,
        }  # fmt: skip
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
    tx: Tx, now: int, rec: StoredRecording, files: dict[str, dict[str, Any]], duration_s: float,
    publisher: Publisher,
) -> None:  # fmt: skip
    """Record the handed-in files (size and duration measured from them, decisions.md) and
    queue their delivery, or finish at once when there is nowhere else to send them."""
    main = next((f for f in files.values() if f.get("role") != "audio"), None)
    primary = main or next(iter(files.values()))
    live.transition(tx, rec, rec.status, files=orjson.dumps(files).decode(),
                    file_size=int(primary["size"]),
                    recording_duration=max(0, int(duration_s)))  # fmt: skip
    after = live.get_by_id(tx, rec.id)
    assert after is not None
    if rec.storage_config is None:
        _finish(tx, now, after, publisher)
        return
    for name, f in files.items():
        jobs.add(tx, DELIVER, rec.id, {"name": name, "key": f["key"], "size": f["size"]}, now)


def _finish(tx: Tx, now: int, rec: StoredRecording, publisher: Publisher) -> None:
    if _bucket_enabled(rec):
        live.transition(tx, rec, Status.UPLOADED, **publisher.download_fields(rec, now))
        return
    # Every destination has confirmed its copy: the bucket copy's work is done.
    publisher.delete_files(rec)
    live.transition(tx, rec, Status.UPLOADED, purged_at=now)


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


def _destination_name(config: dict[str, Any]) -> str:
    where = config.get("bucket") or config.get("host") or "?"
    return f"{config.get('type')} {where!r}"


def deliver_once(
    db: Database, box: SecretBox, publisher: Publisher, policy: Policy, now_ms: int,
    limit: int = 4,
) -> int:  # fmt: skip
    """Run the due transfers (at most ``limit``); how many ran. The transfer itself runs outside
    any transaction: it may take minutes."""
    with db.transaction(write=True) as tx:
        due = jobs.claim_due(tx, now_ms, policy.lease_ms, limit)
    for job in due:
        _deliver(db, box, publisher, policy, job, now_ms)
    return len(due)


def _deliver(
    db: Database, box: SecretBox, publisher: Publisher, policy: Policy, job: jobs.Job, now: int
) -> None:
    with db.transaction() as tx:
        rec = live.get_by_id(tx, job.recording_id)
    if rec is None or rec.status != Status.UPLOADING or rec.storage_config is None:
        with db.transaction(write=True) as tx:
            jobs.fail(tx, job.id, "the recording is no longer waiting for this transfer", now)
        return
    public: dict[str, Any] = orjson.loads(rec.storage_config)
    error, retryable, config = None, True, public
    try:
        config = unsealed(public, box)
        name = job.payload["name"]
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        destination = open_destination(config, policy.endpoints)
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
    with db.transaction(write=True) as tx:
        if error is None:
            jobs.succeed(tx, job.id, now)
            _finish_if_delivered(tx, now, job.recording_id, publisher)
            return
        error = _scrub(f"delivery to {_destination_name(public)} failed: {error}", config)
        log.warning("%s (attempt %d of %d)", error, job.attempts, policy.attempts)
        if retryable and job.attempts < policy.attempts:
            delay = policy.backoff_ms * 2 ** (job.attempts - 1)
            jobs.retry_at(tx, job.id, now + delay, error, now)
            return
        jobs.fail(tx, job.id, error, now)
        _give_up(tx, now, job.recording_id, error, publisher)


def _finish_if_delivered(tx: Tx, now: int, recording_id: str, publisher: Publisher) -> None:
    if all(j.status == jobs.DONE for j in jobs.for_recording(tx, recording_id)):
        rec = live.get_by_id(tx, recording_id, lock=True)
        if rec is not None and rec.status == Status.UPLOADING:
            _finish(tx, now, rec, publisher)


def _give_up(tx: Tx, now: int, recording_id: str, reason: str, publisher: Publisher) -> None:
    rec = live.get_by_id(tx, recording_id, lock=True)
    if rec is None or rec.status != Status.UPLOADING:
        return
    # The bucket copy stays, and stays downloadable, whatever the bucket setting: it is the
    # only copy left.
    live.transition(
        tx, rec, Status.ERRORED, error_reason=reason,
        stop_reason=rec.stop_reason, **publisher.download_fields(rec, now),
    )  # fmt: skip


def purge_expired(tx: Tx, now: int, publisher: Publisher) -> int:
    """Retention (wire-spec §5.4, §7 item 44): bucket copies past their expiry are deleted; the
    recording stays listed with its expiry, and its links answer 410."""
    due = live.due_for_purge(tx, now)
    for rec in due:
        publisher.delete_files(rec)
        live.mark_purged(tx, rec.id, now)
    return len(due)
