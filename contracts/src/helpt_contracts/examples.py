"""Valid example events for tests of any service: random sealed-looking blobs, never real personal data."""

from __future__ import annotations

import base64
import os
import uuid

from helpt_contracts.events import HelpRequested, VolunteerRegistered
from helpt_contracts.sealed import PersonalField, SealedField


def sealed(n: int = 24) -> SealedField:
    return SealedField(
        kid=f"dk:{uuid.uuid4()}:1",
        nonce=base64.b64encode(os.urandom(12)).decode(),
        ciphertext=base64.b64encode(os.urandom(n)).decode(),
    )


def help_requested(**overrides) -> HelpRequested:
    fields = dict(
        tenant="leuven",
        request_id=uuid.uuid4(),
        reference="H-7K3Q9",
        subject_id=uuid.uuid4(),
        channel="phone",
        task="shopping",
        postcode="3010",
        languages=["nl", "fr"],
        privacy_notice_version="2026-03",
        personal={PersonalField.NAME: sealed(), PersonalField.PHONE: sealed()},
    )
    return HelpRequested(**{**fields, **overrides})


def volunteer_registered(**overrides) -> VolunteerRegistered:
    fields = dict(
        tenant="leuven",
        volunteer_id=uuid.uuid4(),
        subject_id=uuid.uuid4(),
        channel="web",
        tasks=["shopping", "dog-walking"],
        postcode="3001",
        languages=["nl", "en"],
        is_adult=True,
        privacy_notice_version="2026-03",
        personal={PersonalField.EMAIL: sealed()},
    )
    return VolunteerRegistered(**{**fields, **overrides})
