"""Recording options: the bodies that configure a recording, validated, and their merge. Shared by
the recordings, the meetings (their ``recording_config``) and the apps (their defaults).

Shapes and bounds are wire-spec §2.4, §2.5 and §3.4; decisions.md (and wire-spec §7 items 26-29)
fix what the spec leaves open. msgspec decodes and checks types and bounds; the rules a schema
cannot say (a storage config's conditional fields, URIs) are checked here after decoding.

Three layers configure a recording, merged per top-level key with ``audio_config`` and
``video_config`` merged field by field and ``storage_config`` replaced whole (§7 item 29):
the start body > the meeting's ``recording_config`` > the app's defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, UnsetType

from reckit.bodies import require_uuid
from reckit.crypto import SecretBox
from reckit.errors import BadRequest
from reckit.netguard import non_public_address

# Write-only fields of a storage config (wire-spec §2.4): accepted, never shown; "sealed" is
# where reckit keeps them, encrypted (crypto.py).
SECRET_STORAGE_FIELDS = frozenset({"access_key", "secret", "password", "private_key", "sealed"})
MIN_SECONDS, MAX_SECONDS = 60, 86_400
# Python's whitespace (str.isspace) spelled out, so that the served document's copies of these
# patterns mean the same to a JSON Schema validator (ECMA 262 or Rust regexes, whose \s and \w
# differ from Python's).
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# wire-spec §3.5 (track layers), applied to file_name_prefix too (§7 item 26): ^[-\w\s]+$, its
# \w read as ECMA 262 reads it (Cloudflare's), ASCII letters, digits and "_".
PREFIX_PATTERN = rf"^[-A-Za-z0-9_{SPACE}]+$"
STORAGE_TYPES = ("aws", "azure", "digitalocean", "gcs", "sftp")

# Integer fields take a whole float too (640.0 is 640): so do JSON Schema's "integer" and the
# JavaScript behind Cloudflare's API. ``_Whole.__post_init__`` turns them into ints.
Px = Annotated[int, Meta(ge=1, le=1920)] | Annotated[float, Meta(ge=1, le=1920, multiple_of=1)]
Prefix = Annotated[str, Meta(pattern=PREFIX_PATTERN, max_length=200)]
Seconds = (
    Annotated[int, Meta(ge=MIN_SECONDS, le=MAX_SECONDS)]
    | Annotated[float, Meta(ge=MIN_SECONDS, le=MAX_SECONDS, multiple_of=1)]
)
Port = Annotated[int, Meta(ge=1, le=65535)] | Annotated[float, Meta(ge=1, le=65535, multiple_of=1)]
Text = Annotated[str, Meta(max_length=4096)]
Secret = Annotated[str, Meta(max_length=65536)]


class _Body(Struct, omit_defaults=True, forbid_unknown_fields=False):
    """Unknown keys are ignored (§7 item 26: keeps the SDK's ``extra_body`` usable)."""


class _Whole(_Body):
    """A body with integer fields: a whole float given for one is stored as the int."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, float):
                setattr(self, name, int(value))


class WatermarkSize(_Whole):
    # Bounded like the frame it is drawn on (unbounded, a 2**70 came back as a 500: no JSON
    # encoder stores it).
    width: Px | UnsetType = UNSET
    height: Px | UnsetType = UNSET


class Watermark(_Body):
    url: Text | UnsetType = UNSET
    size: WatermarkSize | UnsetType = UNSET
    position: Literal["left top", "right top", "left bottom", "right bottom"] | UnsetType = UNSET


class VideoConfig(_Whole):
    codec: Literal["H264", "VP8", "VP9"] | UnsetType = UNSET
    width: Px | UnsetType = UNSET
    height: Px | UnsetType = UNSET
    export_file: bool | UnsetType = UNSET
    watermark: Watermark | UnsetType = UNSET


class AudioConfig(_Body):
    channel: Literal["mono", "stereo"] | UnsetType = UNSET
    codec: Literal["MP3", "AAC"] | UnsetType = UNSET
    export_file: bool | UnsetType = UNSET


class BucketConfig(_Body):
    enabled: bool


class LivestreamConfig(_Body):
    rtmp_url: Text


class InteractiveConfig(_Body):
    type: Literal["ID3"] | UnsetType = UNSET


class StorageConfig(_Whole):
    type: Literal["aws", "azure", "digitalocean", "gcs", "sftp"]
    access_key: Secret | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    bucket: Text | UnsetType = UNSET
    region: Text | UnsetType = UNSET
    path: Text | UnsetType = UNSET
    auth_method: Literal["KEY", "PASSWORD"] | UnsetType = UNSET
    username: Text | UnsetType = UNSET
    password: Secret | UnsetType = UNSET
    host: Text | UnsetType = UNSET
    port: Port | UnsetType = UNSET
    private_key: Secret | UnsetType = UNSET


class PageConfig(_Body):
    """reckit's extension for a page recording (``url``): ``wait_for_start`` waits for the
    page to log ``START_RECORDING`` instead of starting once it has loaded (docs/behaviour.md,
    Recording a web page)."""

    wait_for_start: bool | UnsetType = UNSET


class StartBody(_Whole):
    """``POST …/recordings`` (wire-spec §3.4)."""

    meeting_id: str
    allow_multiple_recordings: bool = False
    audio_config: AudioConfig | UnsetType = UNSET
    video_config: VideoConfig | UnsetType = UNSET
    file_name_prefix: Prefix | UnsetType = UNSET
    interactive_config: InteractiveConfig | UnsetType = UNSET
    max_seconds: Seconds | UnsetType = UNSET
    realtimekit_bucket_config: BucketConfig | UnsetType = UNSET
    rtmp_out_config: LivestreamConfig | UnsetType = UNSET
    # Omitted = inherit; null = no custom storage for this recording (§7 item 27).
    storage_config: StorageConfig | UnsetType | None = UNSET
    url: Text | UnsetType = UNSET
    page_config: PageConfig | UnsetType = UNSET


class RecordingConfig(_Body):
    """A meeting's (or an app's) ``recording_config`` (wire-spec §2.5): every key optional;
    ``max_seconds`` is a number there, whole seconds here."""

    audio_config: AudioConfig | UnsetType = UNSET
    video_config: VideoConfig | UnsetType = UNSET
    file_name_prefix: Prefix | UnsetType = UNSET
    live_streaming_config: LivestreamConfig | UnsetType = UNSET
    max_seconds: Annotated[float, Meta(ge=MIN_SECONDS, le=MAX_SECONDS)] | UnsetType = UNSET
    realtimekit_bucket_config: BucketConfig | UnsetType = UNSET
    storage_config: StorageConfig | UnsetType | None = UNSET


class TrackOutput(_Body):
    """The older track layer's outputs (wire-spec §3.5, "consider accepting"): reckit's bucket,
    or the customer's storage, to which every track file is delivered too."""

    type: Literal["REALTIMEKIT_BUCKET", "STORAGE_CONFIG"]
    storage_config: StorageConfig | UnsetType = UNSET


class TrackLayer(_Body):
    file_name_prefix: Prefix | UnsetType = UNSET
    media_kind: Literal["audio"] | UnsetType = UNSET
    outputs: Annotated[list[TrackOutput], Meta(max_length=4)] | UnsetType = UNSET


class TrackBody(_Body):
    """``POST …/recordings/track`` (wire-spec §3.5, §7 item 32)."""

    meeting_id: str
    layers: dict[str, TrackLayer] | UnsetType = UNSET
    user_ids: (
        Annotated[
            list[Annotated[str, Meta(min_length=1, max_length=256)]],
            Meta(min_length=1, max_length=100),
        ]
        | UnsetType
    ) = UNSET


class ActionBody(_Body):
    """``PUT …/recordings/{recording_id}`` (wire-spec §3.6)."""

    action: Literal["stop", "pause", "resume"]


URI_PATTERN = rf"^[A-Za-z][A-Za-z0-9+.-]*://[^{SPACE}/?#]+[^{SPACE}]*$"
_URI = re.compile(URI_PATTERN)


def _uri(name: str, value: str | UnsetType) -> None:
    if isinstance(value, str) and _URI.fullmatch(value) is None:
        raise BadRequest.field(name, "must be a valid uri")


def _nonempty(config: StorageConfig, *names: str, allow_empty: tuple[str, ...] = ()) -> None:
    for name in names:
        value = getattr(config, name)
        if value is UNSET or (value == "" and name not in allow_empty):
            raise BadRequest.field(f"storage_config.{name}", "is required")


def check_storage(config: StorageConfig) -> None:
    """The conditional rules of wire-spec §2.4. Azure's ``region`` may be empty: Cloudflare's own
    guide tells users to send ``""`` there."""
    if config.type == "gcs":
        _nonempty(config, "bucket")
    elif config.type in ("aws", "digitalocean", "azure"):
        _nonempty(
            config,
            "access_key",
            "region",
            "bucket",
            allow_empty=("region",) if config.type == "azure" else (),
        )
    else:
        _nonempty(config, "host", "port", "username", "auth_method")
        _nonempty(config, "private_key" if config.auth_method == "KEY" else "password")


def _check_common(v: VideoConfig | UnsetType, name: str = "video_config") -> None:
    if isinstance(v, VideoConfig) and isinstance(v.watermark, Watermark):
        _uri(f"{name}.watermark.url", v.watermark.url)


def check_start(body: StartBody) -> str:
    """Everything a schema cannot say about a start body; the meeting ID, normalised."""
    meeting_id = require_uuid("meeting_id", body.meeting_id)
    _check_common(body.video_config)
    _uri("url", body.url)
    if isinstance(body.url, str):
        check_page_url(body.url)
    if isinstance(body.rtmp_out_config, LivestreamConfig):
        _uri("rtmp_out_config.rtmp_url", body.rtmp_out_config.rtmp_url)
    if isinstance(body.storage_config, StorageConfig):
        check_storage(body.storage_config)
    return meeting_id


# What the served document says of ``url``: an http(s) URI (the host is checked here).
PAGE_URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://[^{SPACE}/?#]+[^{SPACE}]*$"
_PAGE_URL = re.compile(PAGE_URL_PATTERN)


def page_host(url: str) -> str | None:
    """The host of an http(s) ``url``; None when it is not one, or names no host."""
    if _PAGE_URL.fullmatch(url) is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port out of range raises)
    except ValueError:
        return None
    return parts.hostname or None


def check_page_url(url: str) -> None:
    """A page recording's ``url``: http(s) with a host (400 otherwise)."""
    if page_host(url) is None:
        raise BadRequest.field("url", "must be an http:// or https:// URL with a host")


def page_url_refusal(url: str, allow_private: bool) -> str | None:
    """Why the page recorder may not open ``url`` (None: it may): its host is, or resolves
    to, a loopback, private or link-local address, unless ``RECKIT_PAGE_ALLOW_PRIVATE=1``. A
    host that does not resolve is left to the recorder (the recording errors with the
    reason)."""
    if allow_private:
        return None
    host = page_host(url) or ""
    if host == "localhost" or host.endswith(".localhost"):
        return "is a loopback address (RECKIT_PAGE_ALLOW_PRIVATE=1 allows it)"
    address = non_public_address(host, 443)
    if address is None:
        return None
    return (
        f"resolves to {address}, a loopback, private or link-local address"
        " (RECKIT_PAGE_ALLOW_PRIVATE=1 allows it)"
    )


def check_page_outside(raw: bytes, allow_private: bool) -> None:
    """The start body's ``url`` against ``page_url_refusal``, before its transaction (a host
    may take a while to resolve). A body it cannot read is left to the operation."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    url = data.get("url") if isinstance(data, dict) else None
    if isinstance(url, str) and _URI.fullmatch(url) is not None:
        check_page_url(url)
        why = page_url_refusal(url, allow_private)
        if why is not None:
            raise BadRequest.field("url", why)


def check_page_resolved(resolved: Resolved) -> None:
    """What a page recording cannot do (400): only H.264 video with AAC sound, exported."""
    if resolved.url is None:
        return
    video, audio = resolved.video, resolved.audio
    if video.get("codec") != "H264" or audio.get("codec") != "AAC":
        raise BadRequest(
            "a recording with url is H.264 video with AAC audio only: video_config.codec"
            f" {video.get('codec')!r} and audio_config.codec {audio.get('codec')!r} are not"
            " supported for it"
        )
    if not video.get("export_file", True):
        raise BadRequest(
            "a recording with url records the page's picture: video_config."
            "export_file cannot be false"
        )


def check_recording_config(config: RecordingConfig, name: str = "recording_config") -> None:
    _check_common(config.video_config, f"{name}.video_config")
    if isinstance(config.live_streaming_config, LivestreamConfig):
        _uri(f"{name}.live_streaming_config.rtmp_url", config.live_streaming_config.rtmp_url)
    if isinstance(config.storage_config, StorageConfig):
        check_storage(config.storage_config)


def public(layer: Struct, box: SecretBox) -> dict[str, Any]:
    """A layer as plain JSON for storing: the storage secrets leave it, sealed under the
    server's key into one ``sealed`` field (which no response ever shows)."""
    out: dict[str, Any] = msgspec.to_builtins(layer)
    storage = out.get("storage_config")
    if isinstance(storage, dict):
        kept = {k: v for k, v in storage.items() if k not in SECRET_STORAGE_FIELDS}
        hidden = {k: v for k, v in storage.items() if k in SECRET_STORAGE_FIELDS}
        if hidden:
            kept["sealed"] = box.seal(hidden)
        out["storage_config"] = kept
    return out


def unsealed(storage: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """A stored storage config with its secrets back, for the one place that needs them: the
    transfer to that very destination."""
    out = {k: v for k, v in storage.items() if k != "sealed"}
    if "sealed" in storage:
        out.update(box.open(storage["sealed"]))
    return out


# --- the effective options of one recording -------------------------------------------------

VIDEO_DEFAULTS: dict[str, Any] = {
    "codec": "H264",
    "width": 1280,
    "height": 720,
    "export_file": True,
}
AUDIO_DEFAULTS: dict[str, Any] = {"channel": "stereo", "codec": "AAC", "export_file": True}


@dataclass(frozen=True)
class Resolved:
    """What one recording will do, after the merge and the defaults (stored with it)."""

    video: dict[str, Any]
    audio: dict[str, Any]
    max_seconds: int
    file_name_prefix: str | None
    bucket_enabled: bool
    storage_config: dict[str, Any] | None  # secrets sealed (see ``public``)
    rtmp_url: str | None
    interactive: bool
    url: str | None
    page: dict[str, Any] | None = None  # a page recording's options (``page_config``)

    def to_json(self) -> dict[str, Any]:
        page = {"page": self.page} if self.url is not None and self.page is not None else {}
        return {
            **page,
            "video": self.video,
            "audio": self.audio,
            "max_seconds": self.max_seconds,
            "file_name_prefix": self.file_name_prefix,
            "bucket_enabled": self.bucket_enabled,
            "storage_config": self.storage_config,
            "rtmp_url": self.rtmp_url,
            "interactive": self.interactive,
            "url": self.url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resolved:
        return cls(**data)


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Layers from the strongest to the weakest, each a ``public`` dict (§7 item 29)."""
    out: dict[str, Any] = {}
    for layer in reversed(layers):
        for key, value in layer.items():
            if key in ("audio_config", "video_config") and isinstance(value, dict):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


def resolve(merged: dict[str, Any]) -> Resolved:
    video = {**VIDEO_DEFAULTS, **merged.get("video_config", {})}
    audio = {**AUDIO_DEFAULTS, **merged.get("audio_config", {})}
    rtmp = merged.get("rtmp_out_config") or merged.get("live_streaming_config")
    bucket = merged.get("realtimekit_bucket_config")
    return Resolved(
        video=video,
        audio=audio,
        max_seconds=int(merged.get("max_seconds", MAX_SECONDS)),
        file_name_prefix=merged.get("file_name_prefix"),
        bucket_enabled=bool(bucket["enabled"]) if isinstance(bucket, dict) else True,
        storage_config=merged.get("storage_config"),
        rtmp_url=rtmp["rtmp_url"] if isinstance(rtmp, dict) else None,
        interactive=isinstance(merged.get("interactive_config"), dict),
        url=merged.get("url"),
        page=merged.get("page_config") if merged.get("url") else None,
    )
