"""Apps → wire objects (wire-spec §4.2)."""

from __future__ import annotations

from typing import Any

from reckit.apps.models import App
from reckit.timestamps import format_ms


def app(a: App) -> dict[str, Any]:
    return {"id": a.id, "created_at": format_ms(a.created_at), "name": a.name}
