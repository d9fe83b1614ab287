"""Signed, expiring links a volunteer opens to confirm the guidelines: HMAC-SHA256 with the service's secret.

The link carries only the volunteer (case) id, the tenant and the expiry: no personal data, and
nothing a guesser could forge without the secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from uuid import UUID

__all__ = ["BadLink", "ExpiredLink", "LinkSigner", "Signed"]

_SHAPE = re.compile(r"^([0-9a-f-]{36})\.([a-z0-9-]{1,63})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


class BadLink(ValueError):
    """Not a link this service signed."""


class ExpiredLink(ValueError):
    """A genuine link, too old."""


@dataclass(frozen=True)
class Signed:
    volunteer_id: UUID
    tenant: str
    expires: dt.datetime


class LinkSigner:
    def __init__(self, secret: bytes, ttl: dt.timedelta) -> None:
        self._secret = secret
        self._ttl = ttl

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, f"guidelines|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, tenant: str, volunteer_id: UUID, now: dt.datetime) -> str:
        payload = f"{volunteer_id}.{tenant}.{int((now + self._ttl).timestamp())}"
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str, now: dt.datetime) -> Signed:
        found = _SHAPE.match(token)
        if not found:
            raise BadLink("not a guidelines link")
        volunteer, tenant, expires, mac = found.groups()
        if not hmac.compare_digest(mac, self._mac(f"{volunteer}.{tenant}.{expires}")):
            raise BadLink("not a guidelines link")
        at = dt.datetime.fromtimestamp(int(expires), dt.UTC)
        if at < now:
            raise ExpiredLink("the link has expired")
        return Signed(UUID(volunteer), tenant, at)
