"""The webhooks management API (SDK 5.9.0's six methods and ``GET …/webhooks/all``), and
reckit's extensions: a webhook's deliveries, and redelivering one (docs/behaviour.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from msgspec import UnsetType

from reckit.bodies import require_uuid
from reckit.db.engine import Tx
from reckit.errors import BadRequest, NotFound
from reckit.ids import new_uuid
from reckit.jobs import repository as jobs
from reckit.webhooks import bodies, guard, render, repository
from reckit.webhooks.events import ensure_key
from reckit.webhooks.models import EVENTS, KIND, KINDS, Webhook
from reckit.webhooks.signing import new_key


def _guarded(url: str, allow_private: bool) -> str:
    why = guard.refusal(url, allow_private)
    if why is not None:
        raise BadRequest.field("url", why)
    return url


def check_url_outside(raw: bytes, allow_private: bool) -> None:
    """The SSRF guard for a body's ``url``, before its transaction: resolving a host may take
    a while, and no transaction should wait for it. A body it cannot read is left to the
    operation to refuse. The operation then checks the same bytes with ``allow_private``
    True."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    url = data.get("url") if isinstance(data, dict) else None
    if isinstance(url, str):
        _guarded(url, allow_private)


def _found(tx: Tx, app_id: str, webhook_id: str, *, lock: bool = False) -> Webhook:
    wid = require_uuid("webhook_id", webhook_id)
    w = repository.get(tx, app_id, wid, lock=lock)
    if w is None:
        raise NotFound(f"Webhook {wid} not found in app {app_id}")
    return w


def create(tx: Tx, now: int, app_id: str, raw: bytes, allow_private: bool) -> dict[str, Any]:
    body = bodies.full(raw)
    url = _guarded(body.url, allow_private)
    w = Webhook(
        new_uuid(), app_id, body.name, url, bodies.check_events(body.events), body.enabled, now, now
    )
    repository.insert(tx, w)
    return render.webhook(w)


def list_webhooks(tx: Tx, app_id: str) -> list[dict[str, Any]]:
    return [render.webhook(w) for w in repository.for_app(tx, app_id)]


def get(tx: Tx, app_id: str, webhook_id: str) -> dict[str, Any]:
    return render.webhook(_found(tx, app_id, webhook_id))


def _save(tx: Tx, now: int, old: Webhook, new: Webhook) -> dict[str, Any]:
    new = replace(new, updated_at=max(now, old.created_at))
    repository.update(tx, new)
    if old.enabled and not new.enabled:
        jobs.cancel(tx, old.id, KINDS, now)  # disabled: its pending deliveries go nowhere
    return render.webhook(new)


def edit(
    tx: Tx, now: int, app_id: str, webhook_id: str, raw: bytes, allow_private: bool
) -> dict[str, Any]:
    """PATCH: any of name, url, events, enabled."""
    old = _found(tx, app_id, webhook_id, lock=True)
    body = bodies.edit(raw)
    new = old
    if not isinstance(body.name, UnsetType):
        new = replace(new, name=body.name)
    if not isinstance(body.url, UnsetType):
        new = replace(new, url=_guarded(body.url, allow_private))
    if not isinstance(body.events, UnsetType):
        new = replace(new, events=bodies.check_events(body.events))
    if not isinstance(body.enabled, UnsetType):
        new = replace(new, enabled=body.enabled)
    return _save(tx, now, old, new)


def replace_webhook(
    tx: Tx, now: int, app_id: str, webhook_id: str, raw: bytes, allow_private: bool
) -> dict[str, Any]:
    """PUT: as create (``enabled`` defaults to true)."""
    old = _found(tx, app_id, webhook_id, lock=True)
    body = bodies.full(raw)
    new = replace(
        old,
        name=body.name,
        url=_guarded(body.url, allow_private),
        events=bodies.check_events(body.events),
        enabled=body.enabled,
    )
    return _save(tx, now, old, new)


def delete(tx: Tx, now: int, app_id: str, webhook_id: str) -> dict[str, Any]:
    """The deleted webhook; its pending deliveries are cancelled."""
    w = _found(tx, app_id, webhook_id, lock=True)
    repository.delete(tx, app_id, w.id)
    jobs.cancel(tx, w.id, KINDS, now)
    return render.webhook(w)


def all_events() -> list[str]:
    return list(EVENTS)


# -- extensions ------------------------------------------------------------------------------


def deliveries(tx: Tx, app_id: str, webhook_id: str) -> list[dict[str, Any]]:
    """reckit's extension: the webhook's deliveries, newest first, each with its attempts."""
    w = _found(tx, app_id, webhook_id)
    found = list(reversed(jobs.for_subject(tx, w.id, KINDS)))
    tries = repository.attempts(tx, [j.id for j in found])
    return [render.delivery(j, tries[j.id]) for j in found]


def redeliver(tx: Tx, now: int, app_id: str, webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """reckit's extension: send a delivery again, as a new delivery with the same body,
    signature and ``rtk-uuid`` (receivers drop it if they have it already)."""
    w = _found(tx, app_id, webhook_id)
    did = require_uuid("delivery_id", delivery_id)
    old = jobs.get(tx, did)
    if old is None or old.kind != KIND or old.subject != w.id:
        raise NotFound(f"Delivery {did} not found for webhook {w.id}")
    if not w.enabled:
        raise BadRequest.field("enabled", "is false: a disabled webhook is sent nothing")
    new_id = jobs.add(tx, KIND, w.id, old.payload, now, host=w.url, key=old.key)
    job = jobs.get(tx, new_id)
    assert job is not None
    return render.delivery(job, [])


def public_key(tx: Tx, now: int) -> str:
    """The public key, the key made first if there is none yet (a write)."""
    return ensure_key(tx, now)[1]


def known_public_key(tx: Tx) -> str | None:
    """The public key, if one was made (a read)."""
    key = repository.signing_key(tx)
    return None if key is None else key[1]


def rotate_key(tx: Tx, now: int) -> str:
    """A new signing key replaces the old one (which then verifies nothing new). Deliveries
    already queued keep the signature they were made with. The new public key."""
    private, public = new_key()
    repository.replace_signing_key(tx, private, public, now)
    return public
