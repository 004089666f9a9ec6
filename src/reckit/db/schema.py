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
    updated_at BIGINT NOT NULL
);
CREATE INDEX meetings_by_app ON meetings (app_id, created_at);
CREATE TABLE recordings (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id),
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
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
    stop_reason TEXT
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

# The list endpoint's indexes (recordings/repository.py). Named here once, because a bulk load
# drops and rebuilds them: building an index from sorted data beats growing it row by row.
RECORDING_INDEXES = {
    "recordings_by_time": "recordings (app_id, invoked_time, id)",
    "recordings_by_status": "recordings (app_id, status, invoked_time, id)",
    "recordings_by_meeting": "recordings (app_id, meeting_id, invoked_time, id)",
    "recordings_by_expiry": "recordings (app_id, download_url_expiry)",
}
_CORE = _CORE.replace(
    "{recording_indexes}",
    ";\n".join(f"CREATE INDEX {name} ON {cols}" for name, cols in RECORDING_INDEXES.items()),
)


def drop_recording_indexes(tx: Tx) -> None:
    for name in RECORDING_INDEXES:
        tx.script(f"DROP INDEX IF EXISTS {name}")


def create_recording_indexes(tx: Tx) -> None:
    for name, cols in RECORDING_INDEXES.items():
        tx.script(f"CREATE INDEX IF NOT EXISTS {name} ON {cols}")
    tx.script("ANALYZE recordings")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "accounts, apps, tokens, meetings, recordings, per-day counts",
        sqlite=_CORE.format(seq="INTEGER PRIMARY KEY")
        # Title search: a trigram index makes substring search independent of table size.
        + """;
CREATE VIRTUAL TABLE meetings_title USING fts5(
    title, content='meetings', content_rowid='seq', tokenize='trigram'
)""",
        postgres=_CORE.format(seq="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        + """;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX meetings_title_trgm ON meetings USING gin (lower(title) gin_trgm_ops)""",
    ),
)


def migrate(db: Database) -> int:
    """Apply pending migrations; return how many ran."""
    with db.transaction(write=True) as tx:
        tx.script("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)")
        row = tx.one("SELECT max(version) FROM schema_version")
        current = int(row[0]) if row and row[0] is not None else 0
        ran = 0
        for m in MIGRATIONS:
            if m.version <= current:
                continue
            _apply(tx, m)
            tx.run("INSERT INTO schema_version (version) VALUES (?)", (m.version,))
            ran += 1
    return ran


def _apply(tx: Tx, m: Migration) -> None:
    if m.common:
        tx.script(m.common)
    tx.script(m.sqlite if tx.dialect == "sqlite" else m.postgres)
