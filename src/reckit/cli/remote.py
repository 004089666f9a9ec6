"""Commands for people against a running reckit: the connection options every one of them takes
(base URL and token from flags or the environment) and the conversation with the public API.

Every command talks to ``{url}/client/v4/accounts/{account}/realtime/kit/{app}/…`` exactly as
curl or the official SDK would; an error answer prints the server's message and exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import click
import orjson

if TYPE_CHECKING:
    import httpx

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_URL = "http://127.0.0.1:8787"
TIMEOUT_S = 30.0


class Upper(click.Choice[str]):
    """A choice of upper-case API values that also takes them in lower case (``--codec vp9``);
    the help lists them as the API spells them."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert(value.upper() if isinstance(value, str) else value, param, ctx)


def connection_options(f: F) -> F:
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


def seg(value: str) -> str:
    """One path segment, whatever it holds (an ID with ``/`` or ``?`` stays one segment)."""
    return quote(value, safe="")


class Api:
    """One command's conversation with the server's public API."""

    def __init__(self, url: str, token: str, account_id: str, app_id: str) -> None:
        self.root = url.rstrip("/")
        self.base = f"{self.root}/client/v4/accounts/{seg(account_id)}/realtime/kit/{seg(app_id)}"
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
            raise click.ClickException(error_message(r, answer))
        return answer.get("data"), answer.get("paging")


def error_message(r: httpx.Response, answer: Any) -> str:
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


def paging_params(page: int | None, per_page: int | None) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if page is not None:
        params.append(("page_no", str(page)))
    if per_page is not None:
        params.append(("per_page", str(per_page)))
    return params
