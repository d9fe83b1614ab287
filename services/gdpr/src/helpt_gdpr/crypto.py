"""Sealing and opening personal fields; wrapping data keys. Pure functions, no I/O.

A subject's data key seals each field with AES-256-GCM, bound by associated data to tenant,
subject and category (contracts' `associated_data`), so a sealed field moved to another person
or another field does not open. Data keys rest wrapped (AES-256-GCM) by the tenant key, bound to
tenant, subject and key id.
"""

from __future__ import annotations

import base64
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from helpt_contracts.sealed import NONCE_BYTES, PersonalField, SealedField, associated_data

__all__ = ["KEY_BYTES", "SealBroken", "new_key", "open_field", "seal_field", "unwrap_key", "wrap_key"]

KEY_BYTES = 32


class SealBroken(ValueError):
    """A sealed field that does not open with its key: tampered, moved, or not ours."""


def new_key() -> bytes:
    """A fresh 256-bit key from the operating system's CSPRNG."""
    return AESGCM.generate_key(bit_length=256)


def seal_field(key: bytes, kid: str, tenant: str, subject_id: UUID, field: PersonalField, plaintext: str) -> SealedField:
    """Encrypt one personal field of one subject."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), associated_data(tenant, subject_id, field))
    return SealedField(kid=kid, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def open_field(key: bytes, tenant: str, subject_id: UUID, field: PersonalField, sealed: SealedField) -> str:
    """Decrypt one field; `SealBroken` if it was altered or belongs elsewhere."""
    try:
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), associated_data(tenant, subject_id, field)
        )
        return plaintext.decode()
    except (InvalidTag, UnicodeDecodeError, ValueError):
        raise SealBroken("the sealed field does not open: altered, or not this subject's field") from None


def _key_aad(tenant: str, subject_id: UUID, kid: str) -> bytes:
    return f"data-key|{tenant}|{subject_id}|{kid}".encode()


def wrap_key(tenant_key: bytes, tenant: str, subject_id: UUID, kid: str, data_key: bytes) -> bytes:
    """The data key encrypted under the tenant key: nonce followed by ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(tenant_key).encrypt(nonce, data_key, _key_aad(tenant, subject_id, kid))


def unwrap_key(tenant_key: bytes, tenant: str, subject_id: UUID, kid: str, wrapped: bytes) -> bytes:
    """The data key back from its wrapped form; `SealBroken` if it was altered or moved."""
    try:
        return AESGCM(tenant_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _key_aad(tenant, subject_id, kid))
    except (InvalidTag, ValueError):
        raise SealBroken("a wrapped data key does not open under the tenant key") from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
