"""Routes of the meetings (wire-spec §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reckit.http.app import ReckitApp


def register(app: ReckitApp) -> None:
    pass
