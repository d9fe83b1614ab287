"""Signed, expiring offer links (HMAC-SHA256 with matching's own secret): how a volunteer answers an offer.

A link names only the match (offer) id, the tenant and its expiry: no personal data, and nothing
anyone can alter or forge without the secret. The purpose is part of the MAC, so a link signed
for something else never opens an offer.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from uuid import UUID

__all__ = ["ForgedLink", "LapsedLink", "OfferLink", "OfferLinks"]

_SHAPE = re.compile(r"^([0-9a-f-]{36})\.([a-z0-9-]{1,63})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


class ForgedLink(ValueError):
    """Not a link matching signed (altered, forged or garbled)."""


class LapsedLink(ValueError):
    """A genuine link past its time."""


@dataclass(frozen=True)
class OfferLink:
    match_id: UUID
    tenant: str
    expires: dt.datetime


class OfferLinks:
    def __init__(self, secret: bytes, ttl: dt.timedelta) -> None:
        self._secret = secret
        self._ttl = ttl

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, f"offer|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, tenant: str, match_id: UUID, now: dt.datetime) -> str:
        payload = f"{match_id}.{tenant}.{int((now + self._ttl).timestamp())}"
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str, now: dt.datetime) -> OfferLink:
        found = _SHAPE.match(token)
        if not found:
            raise ForgedLink("not an offer link")
        match, tenant, expires, mac = found.groups()
        if not hmac.compare_digest(mac, self._mac(f"{match}.{tenant}.{expires}")):
            raise ForgedLink("not an offer link")
        try:
            match_id = UUID(match)
        except ValueError:
            raise ForgedLink("not an offer link") from None
        at = dt.datetime.fromtimestamp(int(expires), dt.UTC)
        if at < now:
            raise LapsedLink("the link has expired")
        return OfferLink(match_id, tenant, at)
