"""Blind indexes: find "this person contacted us before" without keeping a phone number or e-mail.

The index is an HMAC-SHA256 of the normalised value (phone in E.164, e-mail lower-cased) under a
key derived from the tenant key, so it cannot be recomputed by anyone without that key, and the
end-of-crisis purge makes every index meaningless along with the data.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["NotNormalisable", "blind_index", "index_key", "normalise_email", "normalise_phone"]


class NotNormalisable(ValueError):
    """A phone number or e-mail address that cannot be put in canonical form."""


def normalise_phone(raw: str, region: str) -> str:
    """E.164 form, e.g. '0470 12 34 56' in Belgium → '+32470123456'."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise NotNormalisable("not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise NotNormalisable("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased; the whole address, since providers differ on what is equivalent."""
    value = raw.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise NotNormalisable("not an e-mail address")
    return value


def index_key(tenant_key: bytes, tenant: str) -> bytes:
    """The tenant's blind-index key, derived so it is never the tenant key itself."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"helpt blind index|{tenant}".encode()).derive(tenant_key)


def blind_index(key: bytes, kind: str, normalised: str) -> str:
    """Hex HMAC of one normalised value; `kind` keeps a phone and an e-mail that look alike apart."""
    return hmac.new(key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()
