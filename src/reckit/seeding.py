"""Synthetic meetings and recordings for demos and benchmarks (``reckit seed``).

Realistic on purpose: invoked times spread over the last two years; most recordings UPLOADED,
every status present, in-progress ones only in the last hours; bucket copies that expired seven
days after upload; some with an audio export, some delivered to customer storage, some with the
bucket disabled; meeting titles built from a small vocabulary so that searches find something.
Nothing happens after ``now``: every invoked, started, stopped and upload time is at or before it
(only a bucket copy's expiry, upload + retention, may lie ahead). The same ``seed`` gives the
same data in an app (IDs also depend on the app, so that two apps can take the same seed).

A million recordings are a lot of Python objects, so the bulk path makes rows as plain tuples in
the store's column order (``recordings.COLUMNS``), draws random UUIDs a batch at a time, signs
links with plain SHA-256 calls, and leaves ``NewRecording`` to ``make_recordings`` (the small,
readable interface). Recordings are made in chunks, each from random streams of its own, so that
a big plan's chunks are made by several processes at once and still come out the same.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import marshal
import math
import os
import pickle
import random
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any

import orjson

from reckit.crypto import _derive
from reckit.db import schema
from reckit.db.engine import Tx
from reckit.meetings import render as meeting_render
from reckit.meetings import repository as meetings
from reckit.meetings.models import NewMeeting
from reckit.recordings import counts
from reckit.recordings import repository as recordings
from reckit.recordings.models import NewRecording
from reckit.timestamps import DAY_MS

TEAMS = (
    "Falcon",
    "Orion",
    "Atlas",
    "Nimbus",
    "Quartz",
    "Juniper",
    "Cobalt",
    "Sierra",
    "Helix",
    "Aurora",
    "Beacon",
    "Cedar",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Indigo",
    "Jasper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nova",
    "Onyx",
    "Pioneer",
    "Quill",
    "Raven",
    "Summit",
    "Tundra",
    "Umber",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
)
KINDS = (
    "weekly sync",
    "standup",
    "design review",
    "retro",
    "planning",
    "1:1",
    "all-hands",
    "customer call",
    "interview",
    "demo",
    "incident review",
    "office hours",
    "onboarding",
    "sprint review",
    "board prep",
    "sales call",
    "lecture",
    "workshop",
)
RETENTION_MS = 7 * DAY_MS
BYTES_PER_SECOND = 83_333  # about 300 MB an hour (wire-spec §3.4)
STORAGE = (
    {"type": "aws", "bucket": "acme-recordings", "region": "us-east-1", "path": "meetings"},
    {"type": "gcs", "bucket": "acme-archive", "path": "rtk"},
    {
        "type": "sftp",
        "host": "files.example.com",
        "port": 22,
        "username": "rec",
        "auth_method": "KEY",
        "path": "/srv/recordings",
    },
)
_STORAGE_JSON = tuple(orjson.dumps(s).decode() for s in STORAGE)
_SPAN_MS = 730 * DAY_MS
_RECENT_MS = 3 * 3_600_000  # in-progress recordings were invoked this recently
_UPLOAD_MS = (5_000, 60_000)  # how long an upload takes after the stop
_STOPPED_RECENTLY_MS = 5 * 60_000  # an UPLOADING recording stopped at most this long ago
_MAX_WALL_S = 86_400  # the 24 h cap, counted from started_time, pauses included
_INTERNAL_ERROR = '{"reason":"INTERNAL_ERROR"}'
_API_CALL = '{"reason":"API_CALL","caller":{"type":"ORGANIZATION"}}'
# The tails of a row (``recordings.COLUMNS`` from file_size, or from recording_duration, to
# stop_reason): its first ten values (id .. output_file_name) are each row's own.
_NO_FILE = (None,) * 7 + (_INTERNAL_ERROR,)  # failed before anything was captured
_NOT_DELIVERED = (None,) * 6 + (_INTERNAL_ERROR,)  # after file_size: captured, upload failed
_NOT_YET = (None,) * 8  # not stopped yet
_HANDING_IN = (None,) * 6 + (_API_CALL,)  # after file_size: stopped, not delivered yet


@dataclass(frozen=True)
class SeedPlan:
    app_id: str
    recordings: int
    meetings: int
    seed: int
    now_ms: int
    # The server's public URL and key: seeded links are signed as real ones are (delivery/
    # links.py), so they answer as real ones do: 410, since no media was ever made for them.
    public_url: str
    master_key: bytes


_UUID_BATCH = 40_000


@lru_cache(maxsize=4)
def _uuid_masks(k: int) -> tuple[int, int]:
    """Masks over k 16-byte blocks that set the version (4) and variant (10) bits."""
    clear = int.from_bytes(bytes.fromhex("ffffffffffff0fff3fffffffffffffff") * k, "big")
    set_ = int.from_bytes(bytes.fromhex("00000000000040008000000000000000") * k, "big")
    return clear, set_


# Where the 32 hex digits of a UUID go in its 36-character form.
_UUID_DIGITS = tuple(i for i in range(36) if i not in (8, 13, 18, 23))


def _uuids(rng: random.Random, k: int) -> list[str]:
    """k random (version 4) UUIDs drawn from ``rng``. Made a batch at a time with bytes
    operations, which is about four times cheaper than one by one."""
    out: list[str] = []
    for start in range(0, k, _UUID_BATCH):
        n = min(_UUID_BATCH, k - start)
        clear, set_ = _uuid_masks(n)
        digits = ((rng.getrandbits(128 * n) & clear) | set_).to_bytes(16 * n, "big").hex()
        hexed = digits.encode()
        text = bytearray(b"-" * (37 * n))
        for src, dst in enumerate(_UUID_DIGITS):
            text[dst::37] = hexed[src::32]
        text[36::37] = b" " * n
        out.extend(text.decode().split())
    return out


def _id_rng(plan: SeedPlan, what: str) -> random.Random:
    """IDs come from the seed and the app: the same plan gives the same IDs, and two apps
    seeded alike never share one (recording and meeting IDs are unique store-wide)."""
    return random.Random(f"{plan.seed}:{plan.app_id}:{what}")


def make_meetings(plan: SeedPlan, rng: random.Random) -> list[NewMeeting]:
    rand = rng.random
    ids = _uuids(_id_rng(plan, "meetings"), plan.meetings)
    keep_alive = (60, 60, 120, 300, 600)
    out = []
    for i, meeting_id in enumerate(ids):
        created = plan.now_ms - _SPAN_MS - int(rand() * 30 * DAY_MS)
        title = f"{TEAMS[int(rand() * len(TEAMS))]} {KINDS[int(rand() * len(KINDS))]} #{i + 1}"
        out.append(
            NewMeeting(
                id=meeting_id,
                app_id=plan.app_id,
                created_at=created,
                updated_at=created + int(rand() * DAY_MS),
                title=None if rand() < 0.02 else title,
                status="INACTIVE" if rand() < 0.1 else "ACTIVE",
                record_on_start=rand() < 0.2,
                persist_chat=rand() < 0.3,
                session_keep_alive_time_in_secs=keep_alive[int(rand() * len(keep_alive))],
            )
        )
    return out


_LIVE = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING")
Row = tuple[Any, ...]


@dataclass(frozen=True)
class _Chunk:
    """Up to ``CHUNK`` recordings made together, from random streams of their own (so that
    chunks can be made in any order, by several processes, and come out the same): ``count``
    invoked times drawn in [lo, hi), sorted."""

    index: int
    live: bool
    count: int
    lo: int
    hi: int


def _chunks(plan: SeedPlan) -> list[_Chunk]:
    """The plan's recordings in chunks, oldest first. In-progress recordings exist only in the
    last few hours, at least one of each status; the rest are older than that, spread evenly
    over the span (each chunk takes its share of the span, so the store's time-ordered indexes
    grow at their end)."""
    live = min(plan.recordings, max(4, plan.recordings // 2000))
    out: list[_Chunk] = []
    recent_from = plan.now_ms - _RECENT_MS + 1
    spans = (
        (False, plan.recordings - live, recent_from - _SPAN_MS, recent_from),
        (True, live, recent_from, plan.now_ms + 1),
    )
    for is_live, total, lo, hi in spans:
        for start in range(0, total, CHUNK):
            end = min(total, start + CHUNK)
            at = lo + (hi - lo) * start // total
            until = lo + (hi - lo) * end // total
            out.append(_Chunk(len(out), is_live, end - start, at, until))
    return out


# Links are signed as delivery/links.py signs them (``Links.url``: an HMAC-SHA256 of the key and
# the expiry under the server's link key, URL-safe base64 without padding), here as RFC 2104
# spells HMAC out over two plain SHA-256 calls: a third of the cost per link of the keyed
# object's copies (OpenSSL's one-shot HMAC is slower still). tests/test_seeding.py checks
# that the links verify.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _link_signer(plan: SeedPlan) -> Callable[[str, int], str]:
    """``Links(plan.public_url, SecretBox(plan.master_key)).url``, for the keys the seeder makes
    (plain path characters only, so none needs quoting)."""
    key = _derive(plan.master_key, b"reckit download links v1").ljust(64, b"\0")
    inner, outer = bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
    base = plan.public_url.rstrip("/") + "/dl/"
    sha, b64, urlsafe = hashlib.sha256, binascii.b2a_base64, _URLSAFE

    def url(path: str, expiry: int) -> str:
        digest = sha(outer + sha(inner + f"{path}\n{expiry}".encode()).digest()).digest()
        sig = b64(digest, newline=False).translate(urlsafe)[:-1].decode()
        return f"{base}{path}?e={expiry}&s={sig}"

    return url


_DURATION_POOL = 1 << 16


@lru_cache(maxsize=4)
def _durations(seed: int) -> tuple[int, ...]:
    """Capture lengths in seconds (log-normal, median about 25 minutes), drawn once per seed:
    a row picks one with a single ``getrandbits`` instead of a ``gauss`` and an ``exp``."""
    rng = random.Random(f"{seed}:durations")
    return tuple(int(math.exp(rng.gauss(7.3, 0.8))) + 6 for _ in range(_DURATION_POOL))


def _past_rows(
    plan: SeedPlan, meeting_ids: list[str], rng: random.Random, times: list[int], ids: list[str]
) -> list[Row]:
    """Finished recordings (UPLOADED, some ERRORED), one tuple per invoked time, in
    ``recordings.COLUMNS`` order; ``ids`` holds two UUIDs per row (recording, session). Hot
    loop: locals only, no objects but the tuples."""
    rand, bits = rng.random, rng.getrandbits
    durations, pool_bits = _durations(plan.seed), _DURATION_POOL.bit_length() - 1
    app, n_meetings = plan.app_id, len(meeting_ids)
    link = _link_signer(plan)
    # The upload (at most _UPLOAD_MS after the stop) must be over by now.
    latest_stop = plan.now_ms - _UPLOAD_MS[1]
    rows: list[Row] = []
    add = rows.append
    for i, invoked in enumerate(times):
        rid, session = ids[2 * i], ids[2 * i + 1]
        errored = rand() < 0.04
        mid = meeting_ids[int(rand() * n_meetings)]
        name, own = f"{mid}_{invoked}.mp4", (rid, app, mid, "composite")
        if errored and rand() < 0.5:  # failed before anything was captured
            add((*own, "ERRORED", invoked, None, None, None, name, *_NO_FILE))
            continue
        started = invoked + 1_500 + int(rand() * 4_500)
        paused = int(rand() * 120) if rand() < 0.1 else 0
        duration = min(
            durations[bits(pool_bits)],  # median ~25 minutes
            _MAX_WALL_S - paused,
            (latest_stop - started) // 1000 - paused - 1,  # stopped (and uploaded) by now
        )
        stopped = started + (duration + paused) * 1000 + int(rand() * 1000)
        size = duration * BYTES_PER_SECOND + int(rand() * 100_000)
        if errored:  # a failed upload: captured, never delivered
            add((*own, "ERRORED", invoked, started, stopped, session, name, size, *_NOT_DELIVERED))
            continue
        storage = _STORAGE_JSON[int(rand() * len(STORAGE))] if rand() < 0.15 else None
        url = audio = expiry = None
        if storage is None or rand() < 0.5:  # a copy in reckit's bucket
            uploaded = stopped + _UPLOAD_MS[0] + int(rand() * (_UPLOAD_MS[1] - _UPLOAD_MS[0]))
            expiry = uploaded + RETENTION_MS
            url = link(f"{app}/{rid}/{name}", expiry)
            if rand() < 0.5:
                audio = link(f"{app}/{rid}/{mid}_{invoked}.m4a", expiry)
        tail = (size, duration, url, audio, expiry, storage, _API_CALL, _API_CALL)
        add((*own, "UPLOADED", invoked, started, stopped, session, name, *tail))
    return rows


def _live_rows(
    plan: SeedPlan, meeting_ids: list[str], rng: random.Random, times: list[int], ids: list[str]
) -> list[Row]:
    """In-progress recordings, invoked in the last few hours: INVOKED, RECORDING, PAUSED and
    UPLOADING in turn. Started (if at all) by now; an UPLOADING one stopped a few minutes ago at
    most, and never before it started."""
    rand, now, app = rng.random, plan.now_ms, plan.app_id
    rows: list[Row] = []
    for i, invoked in enumerate(times):
        rid, session, status = ids[2 * i], ids[2 * i + 1], _LIVE[i % 4]
        mid = meeting_ids[int(rand() * len(meeting_ids))]
        name, own = f"{mid}_{invoked}.mp4", (rid, app, mid, "composite")
        if status == "INVOKED":
            rows.append((*own, status, invoked, None, None, None, name, *_NOT_YET))
            continue
        started = min(invoked + 1_500 + int(rand() * 4_500), now)
        if status != "UPLOADING":
            rows.append((*own, status, invoked, started, None, session, name, *_NOT_YET))
            continue
        stopped = max(started, now - int(rand() * _STOPPED_RECENTLY_MS))
        size = (stopped - started) // 1000 * BYTES_PER_SECOND + int(rand() * 100_000)
        rows.append((*own, status, invoked, started, stopped, session, name, size, *_HANDING_IN))
    return rows


def _chunk_rows(plan: SeedPlan, meeting_ids: list[str], chunk: _Chunk) -> list[Row]:
    rng = random.Random(f"{plan.seed}:recordings:{chunk.index}")
    rand, width = rng.random, chunk.hi - chunk.lo
    times = sorted(chunk.lo + int(rand() * width) for _ in range(chunk.count))
    ids = _uuids(_id_rng(plan, f"recordings:{chunk.index}"), 2 * chunk.count)
    make = _live_rows if chunk.live else _past_rows
    return make(plan, meeting_ids, rng, times, ids)


# The plan's meetings as the rows of their recordings need them: IDs, and list parts in the
# same order (meetings/render.py ``list_part``).
Meetings = tuple[list[str], list[str]]


def _listed_rows(plan: SeedPlan, listed: Meetings, chunks: list[_Chunk]) -> Iterator[list[Row]]:
    """The rows ``seed`` writes: each chunk's, each row with its list item."""
    ids, parts = listed
    by_id = dict(zip(ids, parts, strict=True))
    for chunk in chunks:
        yield recordings.with_listings(_chunk_rows(plan, ids, chunk), by_id)


def make_recordings(plan: SeedPlan, meeting_ids: list[str]) -> Iterator[NewRecording]:
    """The plan's recordings, oldest first (the same data ``seed`` writes)."""
    for chunk in _chunks(plan):
        for row in _chunk_rows(plan, meeting_ids, chunk):
            yield NewRecording(**dict(zip(recordings.COLUMNS, row, strict=True)))


CHUNK = 20_000
BULK_THRESHOLD = 100_000
# Generator processes for a big plan, at most: one per core, since this process (the writer)
# needs one too, and beyond four the writer is the limit anyway.
MAX_GENERATORS = 4


_FRAME = struct.Struct("<Q")  # the byte length of each marshalled chunk's rows


def _generator_main() -> None:
    """Entry point of a generator process (see ``_generated``): reads the plan and its own
    chunks from stdin, writes their rows, marshalled, to stdout."""
    # From our parent, on a private pipe.
    plan, listed = pickle.load(sys.stdin.buffer)  # noqa: S301
    own = pickle.load(sys.stdin.buffer)  # noqa: S301
    out = sys.stdout.buffer
    for rows in _listed_rows(plan, listed, own):
        data = marshal.dumps(rows)
        out.write(_FRAME.pack(len(data)))
        out.write(data)
    out.flush()


_CHILD = (
    "import pickle, sys; sys.path[:0] = pickle.load(sys.stdin.buffer);"
    " from reckit.seeding import _generator_main; _generator_main()"
)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start_generators(n: int) -> list[subprocess.Popen[bytes]]:
    """n generator processes, or none where processes cannot be started."""
    children: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            children.append(
                subprocess.Popen(
                    [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE
                )
            )
    except OSError:
        _stop(children)
        return []
    return children


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def _read_exactly(pipe: IO[bytes], size: int) -> bytes:
    data = pipe.read(size)
    if len(data) < size:
        raise RuntimeError("a seed generator process stopped early (see above)")
    return data


@contextlib.contextmanager
def _generated(plan: SeedPlan, listed: Meetings) -> Iterator[Iterator[list[Row]]]:
    """The rows of the plan's chunks, in order. A big plan's are made by child Python
    processes while this one writes, so that the row making and the database work share the
    cores (threads would not: all hold the GIL most of the time). Child j makes every n-th
    chunk from the j-th, and this one reads them in turn: the same rows, in the same order, as
    in-process generation."""
    chunks = _chunks(plan)
    n = min(len(chunks), _cores(), MAX_GENERATORS)
    small = plan.recordings < BULK_THRESHOLD or not sys.executable
    children = [] if small else _start_generators(n)
    if not children:  # a small plan, or no child processes here: make the rows in this one
        yield _listed_rows(plan, listed, chunks)
        return

    def receive() -> Iterator[list[Row]]:
        # Sent only now, so that the children's start-up overlaps whatever the caller did first.
        shared = pickle.dumps((plan, listed), protocol=pickle.HIGHEST_PROTOCOL)
        for j, child in enumerate(children):
            assert child.stdin is not None
            with child.stdin as stdin:
                pickle.dump(sys.path, stdin)
                stdin.write(shared)
                pickle.dump(chunks[j::n], stdin)
        for k in range(len(chunks)):
            stdout = children[k % n].stdout
            assert stdout is not None
            (size,) = _FRAME.unpack(_read_exactly(stdout, _FRAME.size))
            yield marshal.loads(_read_exactly(stdout, size))  # noqa: S302 -- our child's

    try:
        yield receive()
    finally:
        _stop(children)


def seed(tx: Tx, plan: SeedPlan, progress: Callable[[int], None] = lambda n: None) -> None:
    """Insert the plan's meetings and recordings in the caller's transaction."""
    ms = make_meetings(plan, random.Random(plan.seed))
    # The recordings' rows are made from here on (in other processes, for a big plan).
    listed = ([m.id for m in ms], [meeting_render.list_part(m) for m in ms])
    with tx.bulk_load(), _generated(plan, listed) as batches:
        meetings.insert_many(tx, ms)
        # Dropping the recordings' indexes and building them again from the loaded table beats
        # growing them row by row, unless the table already holds more than this load adds.
        bulk = plan.recordings >= BULK_THRESHOLD and recordings.fewer_than(tx, plan.recordings)
        if bulk:
            schema.drop_recording_indexes(tx)
        for batch in batches:
            recordings.insert_rows_without_counts(tx, batch)
            progress(len(batch))
        if bulk:
            schema.create_recording_indexes(tx)
        counts.rebuild(tx, plan.app_id)
        if counts.without_meeting(tx, plan.app_id):
            raise RuntimeError("seeded recordings refer to meetings that are not the app's")
        if bulk:
            schema.analyze_after_load(tx)
