"""``reckit meetings …`` and ``reckit recordings …``: commands for people, against a running
server over the public API (base URL and token from flags or the environment).

Every command talks to ``{url}/client/v4/accounts/{account}/realtime/kit/{app}/…`` exactly as
curl or the official SDK would. Without ``--json`` it prints tables; with ``--json`` it prints
the answer's ``data``, for scripts. An error
answer prints the server's message and exits 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import click
import orjson
from rich.console import Console
from rich.table import Table

from reckit.recordings.models import STATUSES
from reckit.webhooks.models import EVENTS

if TYPE_CHECKING:
    import httpx

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_URL = "http://127.0.0.1:8787"
TIMEOUT_S = 30.0
# Human order of the fields of one recording; anything else the server sends follows.
RECORDING_FIELDS = (
    "id",
    "status",
    "error_reason",
    "meeting",
    "invoked_time",
    "started_time",
    "stopped_time",
    "recording_duration",
    "file_size",
    "output_file_name",
    "download_url",
    "download_url_expiry",
    "audio_download_url",
    "session_id",
    "start_reason",
    "stop_reason",
)
MEETING_FIELDS = ("id", "title", "status", "record_on_start", "created_at", "updated_at")


class _Upper(click.Choice[str]):
    """A choice of upper-case API values that also takes them in lower case (``--codec vp9``);
    the help lists them as the API spells them."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert(value.upper() if isinstance(value, str) else value, param, ctx)


def _connection_options(f: F) -> F:
    options = (
        click.option(
            "--url",
            envvar="RECKIT_URL",
            default=DEFAULT_URL,
            show_default=True,
            help="Base URL of the reckit server (env RECKIT_URL).",
        ),
        click.option(
            "--token",
            envvar="RECKIT_TOKEN",
            required=True,
            help="API token, as from `reckit tokens create` (env RECKIT_TOKEN).",
        ),
        click.option(
            "--account",
            "account_id",
            envvar="RECKIT_ACCOUNT_ID",
            required=True,
            help="Account ID (env RECKIT_ACCOUNT_ID).",
        ),
        click.option(
            "--app",
            "app_id",
            envvar="RECKIT_APP_ID",
            required=True,
            help="App ID (env RECKIT_APP_ID).",
        ),
        click.option(
            "--json", "as_json", is_flag=True, help="Print the answer's data as JSON, for scripts."
        ),
    )
    for option in reversed(options):
        f = option(f)
    return f


def _seg(value: str) -> str:
    """One path segment, whatever it holds (an ID with ``/`` or ``?`` stays one segment)."""
    return quote(value, safe="")


class Api:
    """One command's conversation with the server's public API."""

    def __init__(self, url: str, token: str, account_id: str, app_id: str) -> None:
        self.root = url.rstrip("/")
        self.base = f"{self.root}/client/v4/accounts/{_seg(account_id)}/realtime/kit/{_seg(app_id)}"
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any] | None]:
        """The answer's ``data`` and ``paging``; a ClickException (exit 1) for anything else."""
        # Loaded here, not with the module: `reckit serve`'s worker processes import the CLI
        # (multiprocessing re-imports the main script) and have no use for an HTTP client.
        import httpx

        try:
            with httpx.Client(timeout=TIMEOUT_S) as http:
                r = http.request(
                    method,
                    self.base + path,
                    params=tuple(params or ()),
                    json=body,
                    headers={"authorization": f"Bearer {self.token}"},
                )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise click.ClickException(
                f"cannot reach reckit at {self.root} ({exc or type(exc).__name__}); "
                "is it running? (--url / RECKIT_URL)"
            ) from None
        except httpx.TimeoutException:
            raise click.ClickException(
                f"reckit at {self.root} did not answer within {TIMEOUT_S:.0f} s"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise click.ClickException(f"cannot talk to reckit at {self.root}: {exc}") from None
        try:
            answer = orjson.loads(r.content)
        except orjson.JSONDecodeError:
            answer = None
        if r.status_code >= 400 or not isinstance(answer, dict) or answer.get("success") is False:
            raise click.ClickException(_error_message(r, answer))
        return answer.get("data"), answer.get("paging")


def _error_message(r: httpx.Response, answer: Any) -> str:
    message: str | None = None
    if isinstance(answer, dict):
        error = answer.get("error")
        errors = answer.get("errors")
        if isinstance(error, dict) and error.get("message"):
            message = str(error["message"])
        elif isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = "; ".join(str(e.get("message", e)) for e in errors)
    if message is None:
        snippet = r.text.strip()[:200] or r.reason_phrase
        return f"HTTP {r.status_code} from {r.request.url}: {snippet}"
    if r.status_code in (401, 403):
        return (
            f"{message} (HTTP {r.status_code}): check the token (--token / RECKIT_TOKEN) "
            "and that it belongs to this account"
        )
    return message


def _console() -> Console:
    # Piped or captured output is not cut to 80 columns: IDs and file names stay whole.
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=220)
    return console


def _emit_json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _when(value: Any) -> str:
    """``2026-11-26T17:41:48.123Z`` → ``2026-11-26 17:41:48``."""
    if not value:
        return "-"
    return str(value).replace("T", " ")[:19]


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _size(n: Any) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _detail(title: str, data: dict[str, Any], order: tuple[str, ...]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    keys = [k for k in order if k in data] + [k for k in data if k not in order]
    for key in keys:
        value = data[key]
        if key == "meeting" and isinstance(value, dict):
            table.add_row("meeting", _cell(value.get("id")))
            table.add_row("meeting title", _cell(value.get("title")))
        elif key == "recording_duration":
            table.add_row(key, f"{_duration(value)} ({value} s)")
        elif key == "file_size":
            table.add_row(key, "-" if value is None else f"{_size(value)} ({value} bytes)")
        else:
            table.add_row(key, _cell(value))
    _console().print(table)


def _paging_caption(paging: dict[str, Any] | None, shown: int) -> str:
    if not paging:
        return f"{shown} shown"
    total = paging.get("total_count", shown)
    if shown == 0:
        return f"none shown of {total}"
    return f"{paging.get('start_offset')}-{paging.get('end_offset')} of {total}"


# ----------------------------------------------------------------------------- meetings


@click.group()
def meetings() -> None:
    """Meetings of an app, on a running server.

    Connection: --url (RECKIT_URL), --token (RECKIT_TOKEN), --account (RECKIT_ACCOUNT_ID) and
    --app (RECKIT_APP_ID), on every command.
    """


@meetings.command(name="create")
@click.option("--title", default=None, help="A title for people (searchable).")
@click.option(
    "--record-on-start", is_flag=True, help="Start a recording when the first participant joins."
)
@_connection_options
def meetings_create(
    title: str | None,
    record_on_start: bool,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Create a meeting and print it (its ID is what `recordings start` takes)."""
    body: dict[str, Any] = {}
    if title is not None:
        body["title"] = title
    if record_on_start:
        body["record_on_start"] = True
    data, _ = Api(url, token, account_id, app_id).call("POST", "/meetings", body=body)
    if as_json:
        _emit_json(data)
    else:
        _detail("Meeting created", data, MEETING_FIELDS)


@meetings.command(name="list")
@click.option("--search", default=None, help="Part of a title, or a meeting ID (or prefix).")
@click.option("--page", type=click.IntRange(1), default=None, help="Page number, from 1.")
@click.option(
    "--per-page",
    type=click.IntRange(0),
    default=None,
    help="Meetings per page (server default 20; 0 counts only).",
)
@_connection_options
def meetings_list(
    search: str | None,
    page: int | None,
    per_page: int | None,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """List the app's meetings, newest first."""
    params = _paging_params(page, per_page)
    if search is not None:
        params.append(("search", search))
    data, paging = Api(url, token, account_id, app_id).call("GET", "/meetings", params=params)
    if as_json:
        _emit_json(data)
        return
    table = Table(
        "id",
        "title",
        "status",
        "record on start",
        "created",
        caption=_paging_caption(paging, len(data)),
    )
    table.columns[0].no_wrap = True
    for m in data:
        table.add_row(
            m["id"],
            _cell(m.get("title")),
            _cell(m.get("status")),
            _cell(m.get("record_on_start")),
            _when(m.get("created_at")),
        )
    _console().print(table)


def _paging_params(page: int | None, per_page: int | None) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if page is not None:
        params.append(("page_no", str(page)))
    if per_page is not None:
        params.append(("per_page", str(per_page)))
    return params


# ----------------------------------------------------------------------------- recordings


@click.group()
def recordings() -> None:
    """Recordings of an app, on a running server: start, pause, resume, stop, get, list.

    Connection: --url (RECKIT_URL), --token (RECKIT_TOKEN), --account (RECKIT_ACCOUNT_ID) and
    --app (RECKIT_APP_ID), on every command.
    """


@recordings.command(name="start")
@click.argument("meeting_id")
@click.option(
    "--max-seconds",
    type=int,
    default=None,
    help="Stop by itself after this many seconds (60 to 86400).",
)
@click.option(
    "--codec",
    type=_Upper(["H264", "VP8", "VP9"]),
    default=None,
    help="Video codec (H264 gives MP4, VP8/VP9 give WebM).",
)
@click.option("--width", type=int, default=None, help="Video width in pixels (1 to 1920).")
@click.option("--height", type=int, default=None, help="Video height in pixels (1 to 1920).")
@click.option(
    "--audio-codec",
    type=_Upper(["AAC", "MP3"]),
    default=None,
    help="Audio codec (with H264; VP8/VP9 use Vorbis).",
)
@click.option("--mono", is_flag=True, help="Record audio in mono (default stereo).")
@click.option(
    "--file-name-prefix",
    default=None,
    help="Prefix of the output file name: letters, digits, _, - and spaces.",
)
@click.option(
    "--allow-multiple",
    is_flag=True,
    help="Allow another recording of the same meeting to run at the same time.",
)
@_connection_options
def recordings_start(
    meeting_id: str,
    max_seconds: int | None,
    codec: str | None,
    width: int | None,
    height: int | None,
    audio_codec: str | None,
    mono: bool,
    file_name_prefix: str | None,
    allow_multiple: bool,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Start recording MEETING_ID. Options left out come from the meeting's and the app's
    recording_config. The recording starts INVOKED and turns RECORDING once a recorder
    captures it."""
    body: dict[str, Any] = {"meeting_id": meeting_id}
    video = {
        k: v for k, v in (("codec", codec), ("width", width), ("height", height)) if v is not None
    }
    audio: dict[str, Any] = {}
    if audio_codec is not None:
        audio["codec"] = audio_codec
    if mono:
        audio["channel"] = "mono"
    if video:
        body["video_config"] = video
    if audio:
        body["audio_config"] = audio
    if max_seconds is not None:
        body["max_seconds"] = max_seconds
    if file_name_prefix is not None:
        body["file_name_prefix"] = file_name_prefix
    if allow_multiple:
        body["allow_multiple_recordings"] = True
    data, _ = Api(url, token, account_id, app_id).call("POST", "/recordings", body=body)
    _show_recording(data, as_json, "Recording started")


def _show_recording(data: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        _emit_json(data)
    else:
        _detail(title, data, RECORDING_FIELDS)


def _action(action: str, done: str) -> Callable[..., None]:
    def command(
        recording_id: str, url: str, token: str, account_id: str, app_id: str, as_json: bool
    ) -> None:
        data, _ = Api(url, token, account_id, app_id).call(
            "PUT", f"/recordings/{_seg(recording_id)}", body={"action": action}
        )
        _show_recording(data, as_json, done)

    return command


_ACTION_HELP = {
    "pause": (
        "Pause RECORDING_ID (RECORDING → PAUSED); paused time is left out of the file.",
        "Recording paused",
    ),
    "resume": ("Resume RECORDING_ID (PAUSED → RECORDING).", "Recording resumed"),
    "stop": (
        "Stop RECORDING_ID: RECORDING or PAUSED → UPLOADING, then UPLOADED once the file "
        "is in; a recording still INVOKED (nothing captured) ends ERRORED.",
        "Recording stopped",
    ),
}
for _name, (_help, _done) in _ACTION_HELP.items():
    recordings.command(name=_name, help=_help)(
        click.argument("recording_id")(_connection_options(_action(_name, _done)))
    )


@recordings.command(name="get")
@click.argument("recording_id")
@_connection_options
def recordings_get(
    recording_id: str, url: str, token: str, account_id: str, app_id: str, as_json: bool
) -> None:
    """Show one recording: status, times, duration, size, file name and download link."""
    data, _ = Api(url, token, account_id, app_id).call("GET", f"/recordings/{_seg(recording_id)}")
    _show_recording(data, as_json, "Recording")


@recordings.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=_Upper(STATUSES),
    help="Only these statuses (repeat the option for several).",
)
@click.option("--meeting", "meeting_id", default=None, help="Only this meeting's recordings.")
@click.option(
    "--search",
    default=None,
    help="Part of the meeting title, or a meeting ID (or its first 8+ characters).",
)
@click.option("--page", type=click.IntRange(1), default=None, help="Page number, from 1.")
@click.option(
    "--per-page",
    type=click.IntRange(0),
    default=None,
    help="Recordings per page (server default 20, at most 100; 0 counts only).",
)
@_connection_options
def recordings_list(
    statuses: tuple[str, ...],
    meeting_id: str | None,
    search: str | None,
    page: int | None,
    per_page: int | None,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """List the app's recordings, newest first."""
    params = [("status", s) for s in statuses]
    if meeting_id is not None:
        params.append(("meeting_id", meeting_id))
    if search is not None:
        params.append(("search", search))
    params += _paging_params(page, per_page)
    data, paging = Api(url, token, account_id, app_id).call("GET", "/recordings", params=params)
    if as_json:
        _emit_json(data)
        return
    table = Table(
        "id",
        "status",
        "meeting",
        "invoked",
        "started",
        "stopped",
        "duration",
        "size",
        "file name",
        caption=_paging_caption(paging, len(data)),
    )
    for column in table.columns[:2]:
        column.no_wrap = True
    for r in data:
        meeting = r.get("meeting") or {}
        table.add_row(
            r["id"],
            r["status"],
            _cell(meeting.get("title") or meeting.get("id")),
            _when(r.get("invoked_time")),
            _when(r.get("started_time")),
            _when(r.get("stopped_time")),
            _duration(r.get("recording_duration")),
            _size(r.get("file_size")),
            _cell(r.get("output_file_name")),
        )
    _console().print(table)


# ----------------------------------------------------------------------------- webhooks

WEBHOOK_FIELDS = ("id", "name", "url", "events", "enabled", "created_at", "updated_at")


@click.group()
def webhooks() -> None:
    """Webhooks of an app: create, list, deliveries and redeliver on a running server
    (--url, --token, --account, --app); rotate-key on the store (--data-dir)."""


@webhooks.command(name="create")
@click.option("--name", required=True, help="A name for people.")
@click.option(
    "--target",
    "target_url",
    required=True,
    help="Where the events are POSTed (absolute http or https URL).",
)
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENTS),
    default=("recording.statusUpdate",),
    show_default=True,
    help="An event to send (repeatable).",
)
@click.option("--disabled", is_flag=True, help="Create it disabled (it is sent nothing).")
@_connection_options
def webhooks_create(
    name: str,
    target_url: str,
    events: tuple[str, ...],
    disabled: bool,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Create a webhook and print it."""
    body = {"name": name, "url": target_url, "events": list(events), "enabled": not disabled}
    data, _ = Api(url, token, account_id, app_id).call("POST", "/webhooks", body=body)
    if as_json:
        _emit_json(data)
    else:
        _detail("Webhook created", data, WEBHOOK_FIELDS)


@webhooks.command(name="list")
@_connection_options
def webhooks_list(url: str, token: str, account_id: str, app_id: str, as_json: bool) -> None:
    """List the app's webhooks."""
    data, _ = Api(url, token, account_id, app_id).call("GET", "/webhooks")
    if as_json:
        _emit_json(data)
        return
    table = Table("id", "name", "url", "events", "enabled", "created", caption=f"{len(data)} shown")
    table.columns[0].no_wrap = True
    for w in data:
        table.add_row(
            w["id"],
            w["name"],
            w["url"],
            ", ".join(w["events"]),
            _cell(w["enabled"]),
            _when(w["created_at"]),
        )
    _console().print(table)


@webhooks.command(name="deliveries")
@click.argument("webhook_id")
@_connection_options
def webhooks_deliveries(
    webhook_id: str, url: str, token: str, account_id: str, app_id: str, as_json: bool
) -> None:
    """A webhook's deliveries, newest first: status, attempts, the last answer (reckit's
    extension)."""
    api = Api(url, token, account_id, app_id)
    data, _ = api.call("GET", f"/webhooks/{_seg(webhook_id)}/deliveries")
    if as_json:
        _emit_json(data)
        return
    table = Table(
        "id",
        "event",
        "status",
        "attempts",
        "last answer",
        "last attempt",
        "next attempt",
        "rtk-uuid",
        caption=f"{len(data)} shown",
    )
    table.columns[0].no_wrap = True
    for d in data:
        answer = d["last_status_code"] if d["last_status_code"] is not None else d["last_error"]
        table.add_row(
            d["id"],
            d["event"],
            d["status"],
            str(d["attempts"]),
            _cell(answer),
            _when(d["last_attempt_at"]),
            _when(d["next_attempt_at"]),
            d["uuid"],
        )
    _console().print(table)


@webhooks.command(name="redeliver")
@click.argument("webhook_id")
@click.argument("delivery_id")
@_connection_options
def webhooks_redeliver(
    webhook_id: str,
    delivery_id: str,
    url: str,
    token: str,
    account_id: str,
    app_id: str,
    as_json: bool,
) -> None:
    """Send a delivery again: a new delivery with the same body and rtk-uuid."""
    api = Api(url, token, account_id, app_id)
    data, _ = api.call(
        "POST", f"/webhooks/{_seg(webhook_id)}/deliveries/{_seg(delivery_id)}/redeliver"
    )
    if as_json:
        _emit_json(data)
    else:
        click.echo(f"Delivery {data['id']} queued (rtk-uuid {data['uuid']}).")
