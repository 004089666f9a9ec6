"""Settings, built once by the CLI or a test and passed down; nothing reads them at import."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_DATA_DIR = Path("reckit-data")
# Listening on every interface names no address a client could use: links and the built-in
# recorder then use the loopback address of the same family.
WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def http_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # decisions.md: per_page above this is clamped to it.
    max_per_page: int = 100
    max_query_bytes: int = 8192
    # Requests per token per window; 0 turns the limit off (decisions.md, Errors).
    rate_limit: int = 0
    rate_window_s: int = 300
    # Rendered list pages kept per process while the app's data is unchanged; 0 turns it off.
    page_cache_bytes: int = 16 * 1024 * 1024
    # The recording lifecycle (docs/recorder-api.md).
    public_url: str = ""  # how clients reach this server (download links); default from host:port
    recorder_timeout_s: float = 30.0  # a recorder silent this long loses its recordings
    # An API-started recording no recorder claims within this ends ERRORED (RealtimeKit gives a
    # recording app the same 120 s to start).
    claim_timeout_s: float = 120.0
    empty_room_s: float = 60.0  # wire-spec §3.4: a recording stops after 60 s of an empty room
    retention_days: float = 7.0  # wire-spec §5.4: bucket copies expire after 7 days
    sweep_interval_s: float = 1.0  # how often the timers are checked; 0 = never (tests)
    secret_key: str = ""  # RECKIT_SECRET_KEY; else secret.key in the data directory (crypto.py)
    # Delivery to customers' storage (delivery/): attempts, the first retry's delay (doubling
    # after), how long a node holds a transfer before another may take it over, and where each
    # storage type's API is when it is not the vendor's (RECKIT_STORAGE_ENDPOINT_<TYPE>).
    delivery_attempts: int = 8
    delivery_backoff_s: float = 5.0
    job_lease_s: float = 900.0
    storage_endpoints: Mapping[str, str] = field(default_factory=dict)
    # The delivery runner (delivery/runner.py): transfers at once per process, at once per
    # destination host, and how long one attempt may run before it counts as failed.
    delivery_concurrency: int = 8
    delivery_per_host: int = 2
    delivery_attempt_timeout_s: float = 300.0
    # reckit's own bucket: the data directory, or S3-compatible storage (storage/s3_bucket.py).
    bucket_url: str = ""
    bucket_endpoint: str | None = None
    bucket_region: str = "us-east-1"
    bucket_access_key: str = ""
    bucket_secret: str = ""
    builtin_recorder: bool = True  # run the reference recorder inside `reckit serve`
    recorder_capacity: int = 4  # recordings the built-in recorder captures at once
    # Page recordings (``url``) of loopback, private or link-local hosts are refused unless this
    # is set (RECKIT_PAGE_ALLOW_PRIVATE=1: tests, pages served beside reckit).
    page_allow_private: bool = False
    # Webhooks (webhooks/): URLs resolving to loopback, private or link-local addresses are
    # refused unless this is set (RECKIT_WEBHOOK_ALLOW_PRIVATE=1); one attempt's timeout.
    webhook_allow_private: bool = False
    webhook_timeout_s: float = 10.0
    # Operations: GET /metrics served (RECKIT_METRICS=1), and the bearer token it then asks for
    # (none: open, like /healthz and /readyz); whether this node runs the background work
    # (timers, deliveries, webhooks: RECKIT_BACKGROUND); how long a stopping node may take to
    # finish what it is doing (RECKIT_SHUTDOWN_GRACE, seconds).
    metrics: bool = False
    metrics_token: str = ""
    background: bool = True
    shutdown_grace_s: float = 30.0

    @property
    def local_url(self) -> str:
        """How a process on this machine reaches the server (the built-in recorder)."""
        return http_url(WILDCARD_HOSTS.get(self.host, self.host), self.port)

    @property
    def base_url(self) -> str:
        """How clients reach the server (download links): RECKIT_PUBLIC_URL, else the listen
        address (loopback for a wildcard one: see ``WILDCARD_HOSTS``)."""
        return self.public_url.rstrip("/") or self.local_url

    @property
    def signs_for_wildcard(self) -> bool:
        """True when links name loopback only because the server listens on every interface
        and no RECKIT_PUBLIC_URL says how others reach it."""
        return not self.public_url and self.host in WILDCARD_HOSTS

    def to_json(self) -> str:
        """Every field, for ``from_json`` in another process (``reckit serve --workers``)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["data_dir"] = str(self.data_dir)
        data["storage_endpoints"] = dict(self.storage_endpoints)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        data["data_dir"] = Path(data["data_dir"])
        return cls(**data)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'reckit.sqlite3').resolve()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        s = cls(
            data_dir=Path(env.get("RECKIT_DATA_DIR", str(DEFAULT_DATA_DIR))),
            database_url=env.get("RECKIT_DATABASE_URL", ""),
            max_per_page=int(env.get("RECKIT_MAX_PER_PAGE", "100")),
            rate_limit=int(env.get("RECKIT_RATE_LIMIT", "0")),
            rate_window_s=int(env.get("RECKIT_RATE_WINDOW", "300")),
            page_cache_bytes=int(env.get("RECKIT_PAGE_CACHE_MB", "16")) * 1024 * 1024,
            public_url=env.get("RECKIT_PUBLIC_URL", ""),
            recorder_timeout_s=float(env.get("RECKIT_RECORDER_TIMEOUT", "30")),
            claim_timeout_s=float(env.get("RECKIT_CLAIM_TIMEOUT", "120")),
            empty_room_s=float(env.get("RECKIT_EMPTY_ROOM_TIMEOUT", "60")),
            retention_days=float(env.get("RECKIT_RETENTION_DAYS", "7")),
            secret_key=env.get("RECKIT_SECRET_KEY", ""),
            bucket_url=env.get("RECKIT_BUCKET_URL", ""),
            bucket_endpoint=env.get("RECKIT_BUCKET_ENDPOINT") or None,
            bucket_region=env.get("RECKIT_BUCKET_REGION", "us-east-1"),
            bucket_access_key=env.get("RECKIT_BUCKET_ACCESS_KEY", env.get("AWS_ACCESS_KEY_ID", "")),
            bucket_secret=env.get("RECKIT_BUCKET_SECRET", env.get("AWS_SECRET_ACCESS_KEY", "")),
            delivery_attempts=int(env.get("RECKIT_DELIVERY_ATTEMPTS", "8")),
            delivery_backoff_s=float(env.get("RECKIT_DELIVERY_BACKOFF", "5")),
            job_lease_s=float(env.get("RECKIT_JOB_LEASE", "900")),
            delivery_concurrency=int(env.get("RECKIT_DELIVERY_CONCURRENCY", "8")),
            delivery_per_host=int(env.get("RECKIT_DELIVERY_PER_HOST", "2")),
            delivery_attempt_timeout_s=float(env.get("RECKIT_DELIVERY_ATTEMPT_TIMEOUT", "300")),
            storage_endpoints={
                kind: env[f"RECKIT_STORAGE_ENDPOINT_{kind.upper()}"]
                for kind in ("aws", "azure", "digitalocean", "gcs", "sftp")
                if env.get(f"RECKIT_STORAGE_ENDPOINT_{kind.upper()}")
            },
            builtin_recorder=env.get("RECKIT_BUILTIN_RECORDER", "1") not in ("0", "false", ""),
            recorder_capacity=int(env.get("RECKIT_RECORDER_CAPACITY", "4")),
            page_allow_private=env.get("RECKIT_PAGE_ALLOW_PRIVATE", "0") not in ("0", "false", ""),
            webhook_allow_private=env.get("RECKIT_WEBHOOK_ALLOW_PRIVATE", "0")
            not in ("0", "false", ""),
            webhook_timeout_s=float(env.get("RECKIT_WEBHOOK_TIMEOUT", "10")),
            metrics=env.get("RECKIT_METRICS", "0") not in ("0", "false", ""),
            metrics_token=env.get("RECKIT_METRICS_TOKEN", ""),
            background=env.get("RECKIT_BACKGROUND", "1") not in ("0", "false", ""),
            shutdown_grace_s=float(env.get("RECKIT_SHUTDOWN_GRACE", "30")),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(s, **given)  # type: ignore[arg-type]


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LogSettings:
    """How ``reckit serve`` logs (reckit/logs.py). Kept apart from ``Settings``: its worker
    processes get their logging from the configuration uvicorn applies in each of them, not
    from the ``Settings`` they are handed."""

    format: str = "text"  # RECKIT_LOG_FORMAT: "text" (one line per event) or "json" (JSON lines)
    level: str = "INFO"  # RECKIT_LOG_LEVEL: for reckit's loggers and uvicorn's

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /) -> LogSettings:
        """The environment's choice; ValueError names the setting that has no valid value."""
        env = os.environ if environ is None else environ
        fmt = env.get("RECKIT_LOG_FORMAT", "").strip().lower() or "text"
        level = env.get("RECKIT_LOG_LEVEL", "").strip().upper() or "INFO"
        if fmt not in LOG_FORMATS:
            raise ValueError(
                f"RECKIT_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}"
            )
        if level not in LOG_LEVELS:
            raise ValueError(
                f"RECKIT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}"
            )
        return cls(format=fmt, level=level)
