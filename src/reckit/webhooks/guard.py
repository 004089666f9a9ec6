"""The SSRF guard (docs/spec/webhooks.md): a webhook URL whose host resolves to a loopback,
private, link-local (or otherwise non-public) address is refused at create and again at send,
unless ``RECKIT_WEBHOOK_ALLOW_PRIVATE=1``."""

from __future__ import annotations

from urllib.parse import urlsplit

from reckit.netguard import non_public_address


def refusal(url: str, allow_private: bool) -> str | None:
    """Why ``url`` may not be sent to (None: it may). A host that does not resolve is not
    refused here: sending to it fails like any network error."""
    if allow_private:
        return None
    host = urlsplit(url).hostname or ""
    try:
        port = urlsplit(url).port
    except ValueError:
        port = None
    address = non_public_address(host, port or 443)
    if address is None:
        return None
    return (
        f"resolves to {address}, a loopback, private or link-local address"
        " (RECKIT_WEBHOOK_ALLOW_PRIVATE=1 allows it)"
    )
