"""The SSRF guard (docs/spec/webhooks.md): a webhook URL whose host resolves to a loopback,
private, link-local (or otherwise non-public) address is refused at create and again at send,
unless ``RECKIT_WEBHOOK_ALLOW_PRIVATE=1``."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


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
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return None
    for info in infos:
        address = str(info[4][0])
        if _not_public(address):
            return (
                f"resolves to {address}, a loopback, private or link-local address"
                " (RECKIT_WEBHOOK_ALLOW_PRIVATE=1 allows it)"
            )
    return None
