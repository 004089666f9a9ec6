"""An app (wire-spec §4.2) and the query of the apps list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class App:
    id: str
    name: str
    created_at: int


@dataclass(frozen=True)
class AppQuery:
    page_no: int = 1
    per_page: int = 20
    search: str | None = None
    descending: bool = True
