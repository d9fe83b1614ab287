"""The wire format of encrypted personal data.

Everything that identifies a person travels only as a `SealedField`: AES-256-GCM under the data
subject's own key, which only the gdpr service holds. Destroying that key (erasure, end-of-crisis
purge) makes every copy unreadable, in Kafka, in every store and in every backup.

The gdpr service binds each ciphertext to its place with the associated data
``f"{tenant}|{subject_id}|{field}"`` (see `associated_data`), so a sealed field cannot be moved to
another person or another field and still open.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from helpt_contracts.types import ContractModel

__all__ = ["NONCE_BYTES", "TAG_BYTES", "PersonalField", "SealedField", "SealedPersonalData", "associated_data"]

NONCE_BYTES = 12
TAG_BYTES = 16


class PersonalField(StrEnum):
    """Categories of personal data. Each is sealed on its own and revealed by policy."""

    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    ADDRESS = "address"
    BIRTH_DATE = "birth_date"
    NOTE = "note"
    """Free text: may hold health data, so it is the most protected category."""


def _b64_of_length(minimum: int, maximum: int | None = None):
    def check(value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not valid base64") from exc
        if len(raw) < minimum or (maximum is not None and len(raw) > maximum):
            raise ValueError(f"decodes to {len(raw)} bytes, expected {minimum}..{maximum or 'n'}")
        return value

    return AfterValidator(check)


Base64 = StringConstraints(pattern=r"^[A-Za-z0-9+/]+={0,2}$")


class SealedField(ContractModel):
    """One encrypted personal field (AES-256-GCM), as it travels in events and rests in stores."""

    v: Literal[1] = Field(default=1, description="Version of this sealed format.")
    alg: Literal["A256GCM"] = Field(default="A256GCM", description="Cipher: AES-256 in GCM mode.")
    kid: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9:._-]+$")] = Field(
        description="Id of the data key that sealed it (the subject's key at gdpr). Never the key itself.",
    )
    nonce: Annotated[str, Base64, _b64_of_length(NONCE_BYTES, NONCE_BYTES)] = Field(
        description="The 96-bit GCM nonce, base64 (standard alphabet, padded).",
    )
    ciphertext: Annotated[str, Base64, _b64_of_length(TAG_BYTES)] = Field(
        description="Ciphertext followed by the 128-bit GCM tag, base64 (standard alphabet, padded).",
    )


SealedPersonalData = Annotated[
    dict[PersonalField, SealedField],
    Field(description="The subject's personal fields, each sealed by gdpr. Absent fields were not given."),
]


def associated_data(tenant: str, subject_id: UUID, field: PersonalField) -> bytes:
    """The GCM associated data that binds a sealed field to its tenant, subject and category."""
    return f"{tenant}|{subject_id}|{field.value}".encode()
