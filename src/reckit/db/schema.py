"""Schema migrations, applied in order and recorded in ``schema_version``.

Timestamps are integer epoch milliseconds; IDs are text. One list serves both engines; where
they differ, a migration gives each its own text.
"""

from __future__ import annotations

from dataclasses import dataclass

from reckit.db.engine import Database, Tx


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    common: str = ""
    sqlite: str = ""
    postgres: str = ""


_CORE = """
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX apps_by_account ON apps (account_id, created_at);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    token_hash TEXT NOT NULL UNIQUE,
    permission TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_account ON api_tokens (account_id, created_at);
CREATE TABLE meetings (
    seq {seq},
    id TEXT NOT NULL UNIQUE,
    app_id TEXT NOT NULL REFERENCES apps(id),
    title TEXT,
    status TEXT NOT NULL DEFAULT 'ACTIVE',
    record_on_start BOOLEAN NOT NULL DEFAULT FALSE,
    live_stream_on_start BOOLEAN NOT NULL DEFAULT FALSE,
    persist_chat BOOLEAN NOT NULL DEFAULT FALSE,
    summarize_on_end BOOLEAN NOT NULL DEFAULT FALSE,
    transcribe_on_end BOOLEAN NOT NULL DEFAULT FALSE,
    session_keep_alive_time_in_secs INTEGER NOT NULL DEFAULT 60,
    recording_config TEXT,
    ai_config TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- How many recordings the meeting has, and the invoked time of its first and last (NULL
    -- while it has none); kept by recordings/repository.py.
    recording_count BIGINT NOT NULL DEFAULT 0,
    first_invoked_time BIGINT,
    last_invoked_time BIGINT,
    UNIQUE (app_id, id)
){meetings_storage};
CREATE INDEX meetings_by_app ON meetings (app_id, created_at);
CREATE TABLE recordings (
    id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    meeting_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'composite',
    status TEXT NOT NULL,
    invoked_time BIGINT NOT NULL,
    started_time BIGINT,
    stopped_time BIGINT,
    session_id TEXT,
    output_file_name TEXT NOT NULL,
    file_size BIGINT,
    recording_duration INTEGER,
    download_url TEXT,
    audio_download_url TEXT,
    download_url_expiry BIGINT,
    storage_config TEXT,
    start_reason TEXT,
    stop_reason TEXT,
    -- A recording belongs to a meeting of its own app (which also makes the app exist).
    CONSTRAINT recordings_meeting_fk
        FOREIGN KEY (app_id, meeting_id) REFERENCES meetings (app_id, id)
);
{recording_indexes};
CREATE TABLE recording_day_counts (
    app_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (app_id, day, status)
)
"""

# The recordings' indexes (recordings/repository.py), including the one that makes IDs unique.
# Named here once, because a bulk load drops and rebuilds them: building an index from the loaded
# table (one sort) beats growing it row by row, most of all for random UUIDs.
RECORDING_INDEXES = {
    "recordings_by_id": "UNIQUE INDEX recordings_by_id ON recordings (id)",
    # The expiry last: a page filtered by ``expired`` is read from the index alone (migration
    # 12), without the table row of every recording it steps over.
    "recordings_by_time": (
        "INDEX recordings_by_time ON recordings (app_id, invoked_time, id, download_url_expiry)"
    ),
    "recordings_by_status": (
        "INDEX recordings_by_status ON recordings"
        " (app_id, status, invoked_time, id, download_url_expiry)"
    ),
    "recordings_by_meeting": (
        "INDEX recordings_by_meeting ON recordings (app_id, meeting_id, invoked_time, id)"
    ),
    "recordings_by_expiry": (
        "INDEX recordings_by_expiry ON recordings (app_id, download_url_expiry)"
    ),
}
_CORE = _CORE.replace(
    "{recording_indexes}", ";\n".join(f"CREATE {sql}" for sql in RECORDING_INDEXES.values())
)


_FK = "recordings_meeting_fk FOREIGN KEY (app_id, meeting_id) REFERENCES meetings (app_id, id)"


# PostgreSQL's title search index (meetings/repository.py drops and rebuilds it around a bulk
# load). No pending list: it would be scanned by every search until a vacuum merges it.
PG_TITLE_INDEX = (
    "CREATE INDEX meetings_title_trgm ON meetings USING gin (lower(title) gin_trgm_ops)"
    " WITH (fastupdate = off)"
)


# Recordings with files in reckit's bucket that retention has not deleted yet (seeded rows
# have no files, so they are not in it).
PURGE_INDEX = (
    "INDEX recordings_to_purge ON recordings (download_url_expiry)"
    " WHERE purged_at IS NULL AND files IS NOT NULL"
)

# Recordings that may still change (the sweeper and the recorders look only at these).
LIVE_INDEX = (
    "INDEX recordings_live ON recordings (status, invoked_time)"
    " WHERE status IN ('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING')"
)

_LIFECYCLE = (
    """
ALTER TABLE recordings ADD COLUMN config TEXT;
ALTER TABLE recordings ADD COLUMN allow_multiple BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE recordings ADD COLUMN request_key TEXT;
ALTER TABLE recordings ADD COLUMN paused_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN paused_at BIGINT;
ALTER TABLE recordings ADD COLUMN recorder_id TEXT;
ALTER TABLE recordings ADD COLUMN heartbeat_at BIGINT;
ALTER TABLE recordings ADD COLUMN error_reason TEXT;
ALTER TABLE recordings ADD COLUMN files TEXT;
ALTER TABLE recordings ADD COLUMN user_ids TEXT;
ALTER TABLE recordings ADD COLUMN max_seconds INTEGER;
ALTER TABLE apps ADD COLUMN recording_config TEXT;
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    meeting_id TEXT NOT NULL,
    media_url TEXT,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    participants INTEGER NOT NULL DEFAULT 0,
    empty_since BIGINT,
    CONSTRAINT sessions_meeting_fk
        FOREIGN KEY (app_id, meeting_id) REFERENCES meetings (app_id, id)
);
CREATE INDEX sessions_by_meeting ON sessions (app_id, meeting_id, started_at);
CREATE TABLE session_sources (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    participant_id TEXT NOT NULL,
    user_id TEXT,
    name TEXT,
    media_url TEXT,
    joined_at BIGINT NOT NULL,
    left_at BIGINT,
    PRIMARY KEY (session_id, participant_id)
);
CREATE TABLE recorder_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE """
    + LIVE_INDEX
)


_DELIVERY = (
    """
ALTER TABLE recordings ADD COLUMN purged_at BIGINT;
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (next_at) WHERE status = 'pending';
CREATE INDEX jobs_by_recording ON jobs (recording_id);
CREATE """
    + PURGE_INDEX
)


# Per app and day of ``download_url_expiry``: how many recordings have their expiry on that
# day (recordings/repository.py keeps it in step). ``expired`` counts come from whole days
# plus the part of today that has passed.
_EXPIRY = """
CREATE TABLE recording_expiry_counts (
    app_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (app_id, day)
);
INSERT INTO recording_expiry_counts (app_id, day, n)
SELECT app_id, download_url_expiry / 86400000, count(*) FROM recordings
WHERE download_url_expiry IS NOT NULL GROUP BY app_id, download_url_expiry / 86400000
"""


# A job's destination (delivery/runner.py bounds transfers per host), and who holds its lease:
# the node (``<data_dir>/node.id``) and a token per attempt, so that a restarted node releases
# its own leases at once and a late attempt's result is recognised as stale.
_JOB_LEASES = """
ALTER TABLE jobs ADD COLUMN host TEXT;
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
CREATE INDEX jobs_by_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL
"""


# Jobs of one key run one at a time, in the order they were added (jobs/repository.py): the
# key, and the job's place among its key's (1, 2, …; NULL without a key).
_JOB_ORDER = """
ALTER TABLE jobs ADD COLUMN order_key TEXT;
ALTER TABLE jobs ADD COLUMN order_seq BIGINT;
CREATE INDEX jobs_by_order_key ON jobs (order_key, order_seq) WHERE order_key IS NOT NULL
"""


# Webhooks (reckit/webhooks/): the subscriptions per app, the one signing key every node shares
# (slot 1; rotation replaces it), each delivery attempt's answer, and per URL its run of
# failures and pause. A delivery itself is a job (kind ``webhook``, subject the webhook's ID).
_WEBHOOKS = """
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_by_app ON webhooks (app_id, created_at);
CREATE TABLE webhook_signing_key (
    slot INTEGER PRIMARY KEY,
    private_pem TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE webhook_attempts (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    code INTEGER,
    error TEXT,
    PRIMARY KEY (job_id, attempt)
);
CREATE TABLE webhook_url_health (
    url TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    paused_until BIGINT NOT NULL,
    pause_ms BIGINT NOT NULL
);
CREATE INDEX jobs_by_kind_subject ON jobs (kind, recording_id, status)
"""


# Per app, status, day of ``invoked_time`` and day of ``download_url_expiry``: how many
# recordings (those with an expiry). ``expired`` combined with a status or a time window is
# counted from whole days here, plus exact counts of today's expiries and of partial days
# (recordings/repository.py; counts.py keeps it in step). Filled from the recordings for an
# existing store.
_EXPIRY_BY_STATUS = """
CREATE TABLE recording_expiry_status_counts (
    app_id TEXT NOT NULL,
    status TEXT NOT NULL,
    day BIGINT NOT NULL,
    expiry_day BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (app_id, status, day, expiry_day)
);
INSERT INTO recording_expiry_status_counts (app_id, status, day, expiry_day, n)
SELECT app_id, status, invoked_time / 86400000, download_url_expiry / 86400000, count(*)
FROM recordings WHERE download_url_expiry IS NOT NULL
GROUP BY app_id, status, invoked_time / 86400000, download_url_expiry / 86400000
"""


# The nodes sharing the store (reckit/nodes/): each ``reckit serve`` or ``reckit worker``
# process group registers itself under its node ID (``<data_dir>/node.id``) with its roles
# (api, background, recorder), its built-in recorder's slots in use, and a heartbeat; a node
# that stopped cleanly says when.
_NODES = """
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    roles TEXT NOT NULL,
    url TEXT,
    recorder_capacity INTEGER NOT NULL,
    recorder_in_use INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    stopped_at BIGINT
)
"""


def drop_recording_indexes(tx: Tx) -> None:
    """Before a bulk load: drop the recordings' indexes and, on PostgreSQL, the foreign key to
    meetings (checked by a trigger per row there). ``create_recording_indexes`` restores all."""
    for name in [*RECORDING_INDEXES, "recordings_live", "recordings_to_purge"]:
        tx.script(f"DROP INDEX IF EXISTS {name}")
    if tx.dialect == "postgres":
        tx.script("ALTER TABLE recordings DROP CONSTRAINT IF EXISTS recordings_meeting_fk")


def create_recording_indexes(tx: Tx) -> None:
    """After a bulk load: build the indexes from the table; on PostgreSQL add the foreign key
    back, which checks every row in one join (the load fails if any row breaks it)."""
    for sql in [*RECORDING_INDEXES.values(), LIVE_INDEX, PURGE_INDEX]:
        tx.script(f"CREATE {sql}".replace(" INDEX ", " INDEX IF NOT EXISTS ", 1))
    if tx.dialect == "postgres":
        tx.script(f"ALTER TABLE recordings ADD CONSTRAINT {_FK}")


# The tables a bulk load fills: the recordings, their meetings and the counts kept beside them.
COUNTED_TABLES = (
    "meetings",
    "recordings",
    "recording_day_counts",
    "recording_expiry_counts",
    "recording_expiry_status_counts",
)


def analyze_after_load(tx: Tx) -> None:
    """Fresh planner statistics for the tables a bulk load filled (PostgreSQL's autovacuum may
    be late or off; SQLite has none)."""
    for table in COUNTED_TABLES:
        tx.script(f"ANALYZE {table}")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "accounts, apps, tokens, meetings, recordings, per-day counts",
        sqlite=_CORE.format(seq="INTEGER PRIMARY KEY", meetings_storage="")
        # Title search: a trigram index makes substring search independent of table size.
        + """;
CREATE VIRTUAL TABLE meetings_title USING fts5(
    title, content='meetings', content_rowid='seq', tokenize='trigram'
)""",
        # Half-full pages: a change of recording_count (every new recording, and the recount
        # after a bulk load, which changes every row at once) then fits beside the old row
        # version, an update that touches no index.
        postgres=_CORE.format(
            seq="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            meetings_storage=" WITH (fillfactor = 50)",
        )
        + """;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
"""
        + PG_TITLE_INDEX,
    ),
    Migration(
        2,
        "apps.data_version: bumped by every write to an app's recordings and meetings",
        common="ALTER TABLE apps ADD COLUMN data_version BIGINT NOT NULL DEFAULT 0",
    ),
    Migration(
        3,
        "the recording lifecycle: options, pauses, recorders, sessions, recorder tokens",
        common=_LIFECYCLE,
    ),
    Migration(4, "delivery: jobs, and when a bucket copy was deleted", common=_DELIVERY),
    Migration(
        5,
        "which run of a recorder claimed a recording (a lost answer vs a restart)",
        common="ALTER TABLE recordings ADD COLUMN recorder_instance TEXT",
    ),
    Migration(6, "per-day counts of download_url_expiry (the expired filter)", common=_EXPIRY),
    Migration(
        7,
        "delivery jobs: destination host (per-host bound), lease owner (node) and lease token",
        common=_JOB_LEASES,
    ),
    Migration(8, "jobs: an ordering key (one at a time per key, in order)", common=_JOB_ORDER),
    Migration(9, "webhooks: subscriptions, signing key, attempts, paused URLs", common=_WEBHOOKS),
    Migration(
        10,
        "per-status, per-day counts of download_url_expiry (expired with a status or window)",
        common=_EXPIRY_BY_STATUS,
    ),
    Migration(11, "nodes: roles, recorder slots in use, heartbeat", common=_NODES),
    Migration(
        12,
        "the expiry in the recordings' time and status indexes (expired pages from the index)",
        common=";\n".join(
            f"DROP INDEX IF EXISTS {name};\nCREATE {RECORDING_INDEXES[name]}"
            for name in ("recordings_by_time", "recordings_by_status")
        ),
        # Statistics for the new indexes (the planner's choice between them); nothing for an
        # empty table. PostgreSQL keeps its column statistics.
        sqlite="ANALYZE recordings_by_time;\nANALYZE recordings_by_status",
    ),
    Migration(
        13,
        "apps.meetings_version: bumped by the writes that change a meeting (a search's answer)",
        common="ALTER TABLE apps ADD COLUMN meetings_version BIGINT NOT NULL DEFAULT 0",
    ),
    Migration(
        14,
        "list items stored rendered: recordings.listing, meetings.listing (recordings/render.py)",
        # The rows written before are filled in by the next command that opens the store
        # (cli/common.py, batch by batch: rendering is Python's), found by these indexes; until
        # then a list renders them from their columns.
        # SQLite's index holds the rowid after the app: a batch in table order.
        common="ALTER TABLE recordings ADD COLUMN listing TEXT;\n"
        "ALTER TABLE meetings ADD COLUMN listing TEXT;\n"
        "CREATE INDEX meetings_unlisted ON meetings (id) WHERE listing IS NULL",
        sqlite="CREATE INDEX recordings_unlisted ON recordings (app_id) WHERE listing IS NULL",
        postgres="CREATE INDEX recordings_unlisted ON recordings (id) WHERE listing IS NULL",
    ),
)


def migrate(db: Database) -> int:
    """Apply pending migrations; return how many ran. Pending means not recorded as applied,
    not above the highest applied: migrations written side by side may land in either order,
    and a store that has a later one still gets an earlier one added after it."""
    with db.transaction(write=True) as tx:
        tx.script("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
        applied = {int(r[0]) for r in tx.all("SELECT version FROM schema_version")}
        ran = 0
        for m in MIGRATIONS:
            if m.version in applied:
                continue
            _apply(tx, m)
            tx.run("INSERT INTO schema_version (version) VALUES (?)", (m.version,))
            ran += 1
    return ran


def _apply(tx: Tx, m: Migration) -> None:
    if m.common:
        tx.script(m.common)
    tx.script(m.sqlite if tx.dialect == "sqlite" else m.postgres)
