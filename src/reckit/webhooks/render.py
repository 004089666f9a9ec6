"""Stored webhooks and deliveries → wire objects."""

from __future__ import annotations

from typing import Any

from reckit.jobs.repository import Job
from reckit.timestamps import format_ms
from reckit.webhooks.models import Attempt, Webhook


def webhook(w: Webhook) -> dict[str, Any]:
    """The SDK's ``Webhook``: all seven keys."""
    return {
        "id": w.id,
        "name": w.name,
        "url": w.url,
        "events": list(w.events),
        "enabled": w.enabled,
        "created_at": format_ms(w.created_at),
        "updated_at": format_ms(w.updated_at),
    }


def delivery(job: Job, attempts: list[Attempt], created_at: int | None = None) -> dict[str, Any]:
    """reckit's extension: one delivery of a webhook, its attempts and the last answer."""
    last = attempts[-1] if attempts else None
    status = {"done": "delivered"}.get(job.status, job.status)
    return {
        "id": job.id,
        "uuid": job.payload.get("uuid"),
        "event": job.payload.get("event"),
        "status": status,
        "attempts": job.attempts,
        "next_attempt_at": format_ms(job.next_at) if job.status == "pending" else None,
        "last_status_code": None if last is None else last.code,
        "last_attempt_at": None if last is None else format_ms(last.at),
        "last_error": None if last is None else last.error,
        "history": [
            {"attempt": a.attempt, "at": format_ms(a.at), "status_code": a.code, "error": a.error}
            for a in attempts
        ],
    }
