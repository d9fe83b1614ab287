"""Signed, expiring links a person opens without signing in: HMAC-SHA256 with a service's own secret.

A link names only one id (an offer, a volunteer's case), the tenant and its expiry: no personal
data, and nothing anyone can alter or forge without the secret. The purpose ("offer",
"guidelines") is part of the MAC, so a link signed for one thing never opens another.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from uuid import UUID

__all__ = ["ForgedLink", "LapsedLink", "LinkSigner", "SignedLink"]

_SHAPE = re.compile(r"^([0-9a-f-]{36})\.([a-z0-9-]{1,63})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


class ForgedLink(ValueError):
    """Not a link this signer made (altered, forged, garbled, or for another purpose)."""


class LapsedLink(ValueError):
    """A genuine link past its time."""


@dataclass(frozen=True)
class SignedLink:
    """What a genuine link says: the id it names, the tenant, and until when it works."""

    ident: UUID
    tenant: str
    expires: dt.datetime


class LinkSigner:
    """Makes and reads the links of one purpose."""

    def __init__(self, secret: bytes, ttl: dt.timedelta, *, purpose: str) -> None:
        self._secret = secret
        self._ttl = ttl
        self._purpose = purpose

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, f"{self._purpose}|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, tenant: str, ident: UUID, now: dt.datetime) -> str:
        payload = f"{ident}.{tenant}.{int((now + self._ttl).timestamp())}"
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str, now: dt.datetime) -> SignedLink:
        """The link's content; `ForgedLink` or `LapsedLink` when it must not be honoured."""
        found = _SHAPE.match(token)
        if not found:
            raise ForgedLink(f"not a {self._purpose} link")
        ident, tenant, expires, mac = found.groups()
        if not hmac.compare_digest(mac, self._mac(f"{ident}.{tenant}.{expires}")):
            raise ForgedLink(f"not a {self._purpose} link")
        try:
            named = UUID(ident)
        except ValueError:
            raise ForgedLink(f"not a {self._purpose} link") from None
        at = dt.datetime.fromtimestamp(int(expires), dt.UTC)
        if at < now:
            raise LapsedLink("the link has expired")
        return SignedLink(named, tenant, at)
