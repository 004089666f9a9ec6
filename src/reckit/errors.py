"""Domain errors. No HTTP here: ``reckit.http.envelopes.for_error`` maps each class to a status
and body (the status is noted beside each class below).

ReckitError
├── BadRequest            400: a value in a query or body is not acceptable, or an action the
│                         recording's status forbids ("cannot pause a recording that is …")
├── NotFound              404: a resource named in a path does not exist (or is not yours)
├── Conflict              400, as BadRequest; nothing raises it at present (RealtimeKit answers
│                         a forbidden state change with a 400, so the lifecycle raises BadRequest)
├── FilesFinal            409: a recording's files are handed in: none can be replaced or added,
│                         and its recorder can no longer fail it
├── LinkTampered          403: a download link whose signature does not match
├── LinkGone              410: a download link past its expiry, or to a file deleted since
├── StoreBusy             503: SQLite stayed locked by other writers, or no pooled
│                         PostgreSQL connection came free in time: retry shortly
└── AuthError
    ├── Unauthenticated   401: no credentials, or unknown / revoked ones
    ├── MalformedAuth     400: an Authorization header that cannot be parsed
    └── Forbidden         403: valid credentials that do not cover this account
"""

from __future__ import annotations


class ReckitError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ReckitError):
    @classmethod
    def field(cls, name: str, problem: str) -> BadRequest:
        # Dyte-style wording, e.g. BAD_REQUEST: "meeting_id" must be a valid GUID (wire-spec §1.7).
        return cls(f'"{name}" {problem}')


class NotFound(ReckitError):
    pass


class Conflict(ReckitError):
    pass


class FilesFinal(ReckitError):
    pass


class LinkTampered(ReckitError):
    pass


class LinkGone(ReckitError):
    pass


class StoreBusy(ReckitError):
    """A write waited its turn for longer than the store's busy timeout (SQLite allows one
    writer at a time), or a transaction waited as long for one of PostgreSQL's pooled
    connections. Nothing was written; the same request can be sent again."""

    def __init__(self, message: str = "The store is busy with other writes; retry shortly") -> None:
        super().__init__(message)


class AuthError(ReckitError):
    pass


class Unauthenticated(AuthError):
    def __init__(self) -> None:
        super().__init__("Authentication error")


class MalformedAuth(AuthError):
    def __init__(self) -> None:
        super().__init__("Invalid request headers")


class Forbidden(AuthError):
    def __init__(self) -> None:
        super().__init__("Authentication error")
