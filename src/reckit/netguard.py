"""Where reckit may connect on a client's say-so: a host that resolves to a loopback, private,
link-local (or otherwise non-public) address is refused unless the operator allows it. Webhook
targets (docs/spec/webhooks.md, ``RECKIT_WEBHOOK_ALLOW_PRIVATE``) and page recordings' ``url``
(``RECKIT_PAGE_ALLOW_PRIVATE``) use it, each with its own message."""

from __future__ import annotations

import ipaddress
import socket


def not_public(address: str) -> bool:
    """Whether an IP address (an IPv6 zone and an IPv4-mapped form included) is not one of the
    public internet's."""
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


def non_public_address(host: str, port: int) -> str | None:
    """The first address ``host`` resolves to that is not public; None when all are, or when
    it does not resolve (connecting to it then fails like any network error)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return None
    for info in infos:
        address = str(info[4][0])
        if not_public(address):
            return address
    return None
