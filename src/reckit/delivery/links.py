"""Signed, expiring download links to files in reckit's bucket (wire-spec §5.4; decisions.md:
the link dies at ``download_url_expiry`` while the value stays in the API).

A link is ``<public url>/dl/<key>?e=<expiry ms>&s=<signature>``, the signature an HMAC of the
key and the expiry under the server's key (crypto.py): change either and it no longer matches.
"""

from __future__ import annotations

import re
from enum import Enum
from urllib.parse import quote

from reckit.crypto import SecretBox


class Verdict(Enum):
    OK = "ok"
    TAMPERED = "tampered"
    EXPIRED = "expired"


# Characters a key may keep as they are in a URL path (what ``quote`` leaves alone): the keys
# reckit makes are all of these, and skipping ``quote`` for them halves the cost of a link.
_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")
_EXPIRY = re.compile(r"[1-9][0-9]{0,14}", re.ASCII)


class Links:
    def __init__(self, base_url: str, box: SecretBox) -> None:
        self.base_url = base_url.rstrip("/")
        self.box = box

    def url(self, key: str, expiry_ms: int) -> str:
        sig = self.box.sign(f"{key}\n{expiry_ms}")
        path = key if _PLAIN.fullmatch(key) else quote(key)
        return f"{self.base_url}/dl/{path}?e={expiry_ms}&s={sig}"

    def check(self, key: str, expiry: str, signature: str, now_ms: int) -> Verdict:
        # The signature first: an expiry that was tampered with is tampering, not expiry. Only
        # the canonical form reckit writes: ASCII digits, no leading zero (str.isdigit() would
        # take "²" or fullwidth digits, and int() "0…" or "١٢").
        if _EXPIRY.fullmatch(expiry) is None:
            return Verdict.TAMPERED
        if not self.box.verify(f"{key}\n{int(expiry)}", signature):
            return Verdict.TAMPERED
        return Verdict.EXPIRED if int(expiry) <= now_ms else Verdict.OK
