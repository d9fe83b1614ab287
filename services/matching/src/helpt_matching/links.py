"""Offer links: how a volunteer answers an offer without signing in.

Signed and read by the platform's `LinkSigner` with purpose "offer"; a link names the match
(offer) id, the tenant and its expiry, nothing personal.
"""

from __future__ import annotations

import datetime as dt

from helpt_platform.signed_links import ForgedLink, LapsedLink, LinkSigner, SignedLink

__all__ = ["ForgedLink", "LapsedLink", "OfferLink", "OfferLinks"]

OfferLink = SignedLink


class OfferLinks(LinkSigner):
    """Offer links: `read(...).ident` is the match id."""

    def __init__(self, secret: bytes, ttl: dt.timedelta) -> None:
        super().__init__(secret, ttl, purpose="offer")
