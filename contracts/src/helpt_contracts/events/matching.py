"""What matching publishes: the life of a match between a request and a volunteer.

The same events go to `matching.partner.<org>.v1` for the partner organisation involved; they
carry no personal data, so the partner reveals the contact it needs through gdpr.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from helpt_contracts import topics
from helpt_contracts.events.base import Event
from helpt_contracts.types import AwareDatetime, OrganisationId, TaskCode

__all__ = [
    "MatchAccepted",
    "MatchCancellationReason",
    "MatchCancelled",
    "MatchCompleted",
    "MatchDeclineReason",
    "MatchDeclined",
    "MatchProposed",
]


class MatchDeclineReason(StrEnum):
    """Why an offer did not become a match."""

    DECLINED = "declined"
    EXPIRED = "expired"
    TAKEN_BY_ANOTHER = "taken-by-another"


class MatchCancellationReason(StrEnum):
    """Why an accepted match was called off."""

    REQUEST_CANCELLED = "request-cancelled"
    VOLUNTEER_WITHDRAWN = "volunteer-withdrawn"
    VOLUNTEER_SUSPENDED = "volunteer-suspended"
    COORDINATOR_OVERRIDE = "coordinator-override"
    ERASED = "erased"


class _MatchEvent(Event):
    TOPIC: ClassVar[str] = topics.MATCHES
    KEY_FIELD: ClassVar[str] = "request_id"

    match_id: UUID = Field(description="The match (one offer of one request to one volunteer).")
    request_id: UUID = Field(description="The help request; the topic key.")
    volunteer_id: UUID = Field(description="The volunteer offered or matched.")
    organisation: OrganisationId | None = Field(
        default=None, description="The partner organisation involved, whose topic also receives this event."
    )


class MatchProposed(_MatchEvent):
    """A volunteer was offered a request; the offer expires unless accepted."""

    task: TaskCode = Field(description="The task offered.")
    distance_km: float = Field(ge=0, description="Distance between the volunteer and the request's area.")
    offer_round: int = Field(ge=1, description="Which round of offers for this request (offers rotate).")
    expires_at: AwareDatetime = Field(description="When the offer lapses if not accepted.")


class MatchAccepted(_MatchEvent):
    """The volunteer accepted first: the match stands."""


class MatchDeclined(_MatchEvent):
    """The offer ended without a match for this volunteer."""

    reason: MatchDeclineReason = Field(description="Why.")


class MatchCompleted(_MatchEvent):
    """The volunteer marked the task done."""


class MatchCancelled(_MatchEvent):
    """An accepted match was called off before it was done."""

    reason: MatchCancellationReason = Field(description="Why.")
