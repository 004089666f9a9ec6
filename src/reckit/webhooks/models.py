"""The event names and the stored webhook (docs/spec/webhooks.md, Management API)."""

from __future__ import annotations

from dataclasses import dataclass

# Every event a webhook may subscribe to (SDK 5.9.0's enum).
EVENTS: tuple[str, ...] = (
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
    "meeting.chatSynced",
    "recording.statusUpdate",
    "livestreaming.statusUpdate",
    "meeting.transcript",
    "meeting.summary",
)
# The ones reckit has a source for; the others are accepted and never fire.
EMITTED: tuple[str, ...] = (
    "recording.statusUpdate",
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
)
# The jobs queue's kind for a delivery; its subject is the webhook's ID.
KIND = "webhook"
KINDS = (KIND,)
MAX_URL = 2048
MAX_NAME = 255


@dataclass(frozen=True)
class Webhook:
    id: str
    app_id: str
    name: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery: when, the receiver's status code (None: no answer), and why it
    failed when it did."""

    attempt: int
    at: int
    code: int | None
    error: str | None
