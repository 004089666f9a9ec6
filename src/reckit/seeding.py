"""Synthetic meetings and recordings for demos and benchmarks (``reckit seed``).

Realistic on purpose: invoked times spread over the last two years; most recordings UPLOADED,
every status present, in-progress ones only in the last hours; bucket copies that expired seven
days after upload; some with an audio export, some delivered to customer storage, some with the
bucket disabled; meeting titles built from a small vocabulary so that searches find something.
The same ``seed`` gives the same data.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson

from reckit.db import schema
from reckit.db.engine import Tx
from reckit.meetings import repository as meetings
from reckit.meetings.models import NewMeeting
from reckit.recordings import repository as recordings
from reckit.recordings.models import NewRecording
from reckit.timestamps import DAY_MS

TEAMS = (
    "Falcon", "Orion", "Atlas", "Nimbus", "Quartz", "Juniper", "Cobalt", "Sierra", "Helix",
    "Aurora", "Beacon", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo",
    "Jasper", "Kestrel", "Lumen", "Meridian", "Nova", "Onyx", "Pioneer", "Quill", "Raven",
    "Summit", "Tundra", "Umber", "Vertex", "Willow", "Xenon", "Yarrow", "Zephyr",
)  # fmt: skip
KINDS = (
    "weekly sync", "standup", "design review", "retro", "planning", "1:1", "all-hands",
    "customer call", "interview", "demo", "incident review", "office hours", "onboarding",
    "sprint review", "board prep", "sales call", "lecture", "workshop",
)  # fmt: skip
RETENTION_MS = 7 * DAY_MS
BYTES_PER_SECOND = 83_333  # about 300 MB an hour (wire-spec §3.4)
STORAGE = (
    {"type": "aws", "bucket": "acme-recordings", "region": "us-east-1", "path": "meetings"},
    {"type": "gcs", "bucket": "acme-archive", "path": "rtk"},
    {"type": "sftp", "host": "files.example.com", "port": 22, "username": "rec",
     "auth_method": "KEY", "path": "/srv/recordings"},
)  # fmt: skip


@dataclass(frozen=True)
class SeedPlan:
    app_id: str
    recordings: int
    meetings: int
    seed: int
    now_ms: int
    download_base: str


_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from ``rng``, so that a seed reproduces its IDs."""
    h = f"{(rng.getrandbits(128) & _V4_CLEAR) | _V4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _below(rng: random.Random, n: int, m: int | None = None) -> int:
    """randrange(n) or randrange(n, m), several times faster; uniformity is not at stake here."""
    if m is None:
        return int(rng.random() * n)
    return n + int(rng.random() * (m - n))


def make_meetings(plan: SeedPlan, rng: random.Random) -> list[NewMeeting]:
    span = 730 * DAY_MS
    out = []
    for i in range(plan.meetings):
        created = plan.now_ms - span - _below(rng, 30 * DAY_MS)
        title = f"{rng.choice(TEAMS)} {rng.choice(KINDS)} #{i + 1}"
        out.append(
            NewMeeting(
                id=_uuid(rng),
                app_id=plan.app_id,
                created_at=created,
                updated_at=created + _below(rng, DAY_MS),
                title=None if rng.random() < 0.02 else title,
                status="INACTIVE" if rng.random() < 0.1 else "ACTIVE",
                record_on_start=rng.random() < 0.2,
                persist_chat=rng.random() < 0.3,
                session_keep_alive_time_in_secs=rng.choice((60, 60, 120, 300, 600)),
            )
        )
    return out


_LIVE = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING")


def make_recordings(
    plan: SeedPlan, meeting_ids: list[str], rng: random.Random
) -> Iterator[NewRecording]:
    now = plan.now_ms
    span = 730 * DAY_MS
    # In-progress recordings exist only in the last few hours, at least one of each status.
    live = min(plan.recordings, max(4, plan.recordings // 2000))
    # Drawn in time order, so the store's time-ordered indexes grow at their end.
    past = sorted(
        now - 3 * 3_600_000 - int(rng.random() * span) for _ in range(plan.recordings - live)
    )
    recent = sorted(now - int(rng.random() * 3 * 3_600_000) for _ in range(live))
    n_meetings = len(meeting_ids)
    for invoked in past:
        status = "ERRORED" if rng.random() < 0.04 else "UPLOADED"
        meeting_id = meeting_ids[int(rng.random() * n_meetings)]
        yield _recording(plan, rng, _uuid(rng), meeting_id, status, invoked)
    for i, invoked in enumerate(recent):
        meeting_id = meeting_ids[int(rng.random() * n_meetings)]
        yield _recording(plan, rng, _uuid(rng), meeting_id, _LIVE[i % 4], invoked)


def _recording(
    plan: SeedPlan, rng: random.Random, rid: str, meeting_id: str, status: str, invoked: int
) -> NewRecording:
    name = f"{meeting_id}_{invoked}.mp4"
    base = NewRecording(rid, plan.app_id, meeting_id, status, invoked, name)
    if status == "INVOKED":
        return base
    started = invoked + _below(rng, 1500, 6000)
    session = _uuid(rng)
    if status == "ERRORED" and rng.random() < 0.5:
        return NewRecording(rid, plan.app_id, meeting_id, status, invoked, name,
                            stop_reason='{"reason":"INTERNAL_ERROR"}')  # fmt: skip
    if status in ("RECORDING", "PAUSED"):
        return NewRecording(rid, plan.app_id, meeting_id, status, invoked, name,
                            started_time=started, session_id=session)  # fmt: skip
    duration = int(rng.lognormvariate(7.3, 0.8)) + 6  # median ~25 minutes
    duration = min(duration, 86_400)
    paused = _below(rng, 120) if rng.random() < 0.1 else 0
    stopped = started + (duration + paused) * 1000 + _below(rng, 1000)
    size = duration * BYTES_PER_SECOND + _below(rng, 100_000)
    storage = STORAGE[_below(rng, len(STORAGE))] if rng.random() < 0.15 else None
    if status == "ERRORED":  # a failed upload: captured, never delivered
        return NewRecording(rid, plan.app_id, meeting_id, status, invoked, name,
                            started_time=started, stopped_time=stopped, session_id=session,
                            file_size=size, stop_reason='{"reason":"INTERNAL_ERROR"}')  # fmt: skip
    stop_reason = '{"reason":"API_CALL","caller":{"type":"ORGANIZATION"}}'
    if status == "UPLOADING":
        return NewRecording(rid, plan.app_id, meeting_id, status, invoked, name,
                            started_time=started, stopped_time=stopped, session_id=session,
                            file_size=size, stop_reason=stop_reason)  # fmt: skip
    bucket = storage is None or rng.random() < 0.5
    url = audio = expiry = None
    if bucket:
        uploaded = stopped + _below(rng, 5_000, 60_000)
        expiry = uploaded + RETENTION_MS
        url = f"{plan.download_base}/{rid}/{name}"
        if rng.random() < 0.5:
            audio = f"{plan.download_base}/{rid}/{name[:-4]}_audio.m4a"
    return NewRecording(
        rid, plan.app_id, meeting_id, status, invoked, name,
        started_time=started, stopped_time=stopped, session_id=session, file_size=size,
        recording_duration=duration, download_url=url, audio_download_url=audio,
        download_url_expiry=expiry,
        storage_config=None if storage is None else orjson.dumps(storage).decode(),
        start_reason='{"reason":"API_CALL","caller":{"type":"ORGANIZATION"}}',
        stop_reason=stop_reason,
    )  # fmt: skip


BATCH = 20_000
BULK_THRESHOLD = 100_000


def _batches(plan: SeedPlan, ids: list[str], rng: random.Random) -> Iterator[list[NewRecording]]:
    batch: list[NewRecording] = []
    for rec in make_recordings(plan, ids, rng):
        batch.append(rec)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _prefetch(source: Iterator[list[NewRecording]]) -> Iterator[list[NewRecording]]:
    """Make the next batch in a thread while this one is written: the database driver lets go
    of the GIL while it works, so the two overlap on a second core."""
    batches: queue.Queue[list[NewRecording] | BaseException | None] = queue.Queue(maxsize=4)

    def produce() -> None:
        try:
            for b in source:
                batches.put(b)
            batches.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            batches.put(exc)

    threading.Thread(target=produce, name="seed-generator", daemon=True).start()
    while (item := batches.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def seed(tx: Tx, plan: SeedPlan, progress: Callable[[int], None] = lambda n: None) -> None:
    """Insert the plan's meetings and recordings in the caller's transaction."""
    rng = random.Random(plan.seed)
    ms = make_meetings(plan, rng)
    meetings.insert_many(tx, ms)
    bulk = plan.recordings >= BULK_THRESHOLD
    if bulk:
        schema.drop_recording_indexes(tx)
    for batch in _prefetch(_batches(plan, [m.id for m in ms], rng)):
        recordings.insert_many_without_counts(tx, batch)
        progress(len(batch))
    if bulk:
        schema.create_recording_indexes(tx)
    recordings.rebuild_day_counts(tx, plan.app_id)
