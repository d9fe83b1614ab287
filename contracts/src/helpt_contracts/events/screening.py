"""What screening publishes: its decisions on volunteers."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from helpt_contracts import topics
from helpt_contracts.events.base import Event
from helpt_contracts.types import AwareDatetime

__all__ = [
    "ScreeningReason",
    "VolunteerApproved",
    "VolunteerDecisionReversed",
    "VolunteerGuidelinesConfirmed",
    "VolunteerRejected",
    "VolunteerSuspended",
]


class ScreeningReason(StrEnum):
    """The fixed list of reasons a screener chooses from."""

    IDENTITY_VERIFIED = "identity-verified"
    INTERVIEW_OK = "interview-ok"
    REFERENCES_OK = "references-ok"
    INCOMPLETE_INFORMATION = "incomplete-information"
    DUPLICATE_REGISTRATION = "duplicate-registration"
    DOES_NOT_MEET_PROFILE = "does-not-meet-profile"
    SAFETY_CONCERN = "safety-concern"
    COMPLAINT_RECEIVED = "complaint-received"
    DECISION_REVERSED = "decision-reversed"
    OTHER = "other"


class _DecisionEvent(Event):
    TOPIC: ClassVar[str] = topics.SCREENING_DECISIONS
    KEY_FIELD: ClassVar[str] = "volunteer_id"

    volunteer_id: UUID = Field(description="The volunteer decided on; the topic key.")
    case_id: UUID = Field(description="The screening case the decision belongs to.")
    reason: ScreeningReason = Field(description="The reason code the screener chose.")


class VolunteerApproved(_DecisionEvent):
    """A screener approved a volunteer: matching may offer tasks."""

    guidelines_confirmed: bool = Field(
        default=False,
        description="The volunteer confirmed the infection-prevention guidelines; visits wait for this.",
    )


class VolunteerRejected(_DecisionEvent):
    """A screener rejected a volunteer: never offered a match."""


class VolunteerSuspended(_DecisionEvent):
    """An approved volunteer is suspended (a complaint, a later finding): no new offers, at once."""


class VolunteerDecisionReversed(_DecisionEvent):
    """A screener reversed the case's last decision: the volunteer is not approved (no new offers) and the case is open for review again."""

    reversed_decision: str = Field(
        pattern=r"^(approved|rejected|suspended)$", description="The decision taken back: approved, rejected or suspended."
    )


class VolunteerGuidelinesConfirmed(Event):
    """An approved volunteer confirmed the infection-prevention guidelines and the insurance notice: visits may be offered."""

    TOPIC: ClassVar[str] = topics.SCREENING_DECISIONS
    KEY_FIELD: ClassVar[str] = "volunteer_id"

    volunteer_id: UUID = Field(description="The volunteer; the topic key.")
    case_id: UUID = Field(description="The screening case.")
    guidelines_version: str = Field(min_length=1, max_length=40, description="Version of the guidelines and insurance notice confirmed.")
    confirmed_at: AwareDatetime = Field(description="When the volunteer confirmed.")
