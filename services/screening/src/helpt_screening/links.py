"""The guidelines link a volunteer opens to confirm the guidelines and the insurance notice.

Signed and read by the platform's `LinkSigner` with purpose "guidelines"; it names the
volunteer's case, the tenant and the expiry, nothing personal.
"""

from __future__ import annotations

import datetime as dt

from helpt_platform.signed_links import ForgedLink, LapsedLink, SignedLink
from helpt_platform.signed_links import LinkSigner as _PlatformSigner

__all__ = ["BadLink", "ExpiredLink", "LinkSigner", "Signed"]

BadLink = ForgedLink
ExpiredLink = LapsedLink
Signed = SignedLink


class LinkSigner(_PlatformSigner):
    """Guidelines links: `read(...).ident` is the volunteer (case) id."""

    def __init__(self, secret: bytes, ttl: dt.timedelta) -> None:
        super().__init__(secret, ttl, purpose="guidelines")
