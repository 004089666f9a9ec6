"""``reckit recordings …``: start, pause, resume, stop, get and list an app's recordings, on a
running server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.table import Table

from reckit.cli.remote import Api, Upper, connection_options, paging_params, seg
from reckit.cli.show import cell, console, detail, duration, emit_json, paging_caption, size, when
from reckit.recordings.models import STATUSES

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
    type=Upper(["H264", "VP8", "VP9"]),
    default=None,
    help="Video codec (H264 gives MP4, VP8/VP9 give WebM).",
)
@click.option("--width", type=int, default=None, help="Video width in pixels (1 to 1920).")
@click.option("--height", type=int, default=None, help="Video height in pixels (1 to 1920).")
@click.option(
    "--audio-codec",
    type=Upper(["AAC", "MP3"]),
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
@connection_options
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
        emit_json(data)
    else:
        detail(title, data, RECORDING_FIELDS)


def _action(action: str, done: str) -> Callable[..., None]:
    def command(
        recording_id: str, url: str, token: str, account_id: str, app_id: str, as_json: bool
    ) -> None:
        data, _ = Api(url, token, account_id, app_id).call(
            "PUT", f"/recordings/{seg(recording_id)}", body={"action": action}
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
        click.argument("recording_id")(connection_options(_action(_name, _done)))
    )


@recordings.command(name="get")
@click.argument("recording_id")
@connection_options
def recordings_get(
    recording_id: str, url: str, token: str, account_id: str, app_id: str, as_json: bool
) -> None:
    """Show one recording: status, times, duration, size, file name and download link; while it
    waits for a recorder, why (reckit's extension …/waiting)."""
    api = Api(url, token, account_id, app_id)
    data, _ = api.call("GET", f"/recordings/{seg(recording_id)}")
    _show_recording(data, as_json, "Recording")
    if as_json or data.get("status") != "INVOKED":
        return
    try:
        waiting, _ = api.call("GET", f"/recordings/{seg(recording_id)}/waiting")
    except click.ClickException:  # a server without the extension: the table says enough
        return
    if waiting.get("waiting"):
        click.echo(f"waiting: {waiting['reason']}")


@recordings.command(name="list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=Upper(STATUSES),
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
@connection_options
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
    params += paging_params(page, per_page)
    data, paging = Api(url, token, account_id, app_id).call("GET", "/recordings", params=params)
    if as_json:
        emit_json(data)
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
        caption=paging_caption(paging, len(data)),
    )
    for column in table.columns[:2]:
        column.no_wrap = True
    for r in data:
        meeting = r.get("meeting") or {}
        table.add_row(
            r["id"],
            r["status"],
            cell(meeting.get("title") or meeting.get("id")),
            when(r.get("invoked_time")),
            when(r.get("started_time")),
            when(r.get("stopped_time")),
            duration(r.get("recording_duration")),
            size(r.get("file_size")),
            cell(r.get("output_file_name")),
        )
    console().print(table)
