"""Domain errors. No HTTP here: ``reckit.http.errors`` maps each class to a status and body.

ReckitError
├── BadRequest            a value in a query or body is not acceptable
├── NotFound              a resource named in a path does not exist (or is not yours)
├── Conflict              a state change that the resource's current state forbids
├── FilesFinal            a recording's files are handed in: none can be replaced or added
├── LinkTampered          a download link whose signature does not match
├── LinkGone              a download link past its expiry, or to a file deleted since
├── StoreBusy             the embedded store stayed locked by other writers: retry shortly
└── AuthError
    ├── Unauthenticated   no credentials, or unknown / revoked ones
    ├── MalformedAuth     an Authorization header that cannot be parsed
    └── Forbidden         valid credentials that do not cover this account
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
    """Every write waited its turn for longer than the store's busy timeout (SQLite allows one
    writer at a time). Nothing was written; the same request can be sent again."""

    def __init__(self) -> None:
        super().__init__("The store is busy with other writes; retry shortly")


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
