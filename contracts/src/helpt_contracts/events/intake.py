"""What intake publishes: help requests and volunteers from every channel, and mails awaiting triage."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from helpt_contracts import topics
from helpt_contracts.events.base import Event
from helpt_contracts.sealed import SealedPersonalData
from helpt_contracts.types import (
    Channel,
    CompetenceCode,
    LanguageCode,
    OrganisationId,
    Postcode,
    TaskCode,
    TimeWindow,
    WeeklySlot,
)

__all__ = [
    "HelpRequestCancelled",
    "HelpRequestUpdated",
    "HelpRequested",
    "MailOutcome",
    "MailReceived",
    "MailTriaged",
    "RequestCancellationReason",
    "Urgency",
    "VolunteerRegistered",
    "VolunteerUpdated",
    "VolunteerWithdrawn",
    "WithdrawalReason",
]

Languages = Annotated[list[LanguageCode], Field(min_length=1, max_length=10)]
Reference = Annotated[str, Field(pattern=r"^[A-Z0-9-]{4,20}$")]
StaffId = Annotated[str, Field(min_length=1, max_length=100)]
ContactIndex = Annotated[list[Annotated[str, Field(min_length=16, max_length=128)]], Field(max_length=4)]


class Urgency(StrEnum):
    """How soon help is needed."""

    NORMAL = "normal"
    URGENT = "urgent"


class RequestCancellationReason(StrEnum):
    """Why a help request was cancelled."""

    REQUESTER_CANCELLED = "requester-cancelled"
    RESOLVED_ELSEWHERE = "resolved-elsewhere"
    DUPLICATE = "duplicate"
    NO_LONGER_NEEDED = "no-longer-needed"
    ERASED = "erased"


class WithdrawalReason(StrEnum):
    """Why a volunteer stopped offering help."""

    VOLUNTEER_WITHDREW = "volunteer-withdrew"
    INACTIVE = "inactive"
    ERASED = "erased"


class _HelpRequestEvent(Event):
    TOPIC: ClassVar[str] = topics.HELP_REQUESTS
    KEY_FIELD: ClassVar[str] = "request_id"

    request_id: UUID = Field(description="The help request's id; the topic key.")


class HelpRequested(_HelpRequestEvent):
    """A citizen or a care organisation asked for help, through any channel."""

    reference: Reference = Field(description="Short reference the requester can quote on the phone, e.g. 'H-7K3Q9'.")
    subject_id: UUID = Field(description="The requester as a data subject at gdpr.")
    channel: Channel = Field(description="How the request came in.")
    form_language: LanguageCode | None = Field(
        default=None, description="Language of the form the request was made in (web page, console, mail); "
        "none when unknown (an API client that did not say). For the statistics per language."
    )
    task: TaskCode = Field(description="The vacancy (task) asked for.")
    postcode: Postcode = Field(description="Where help is needed.")
    languages: Languages = Field(description="Languages the requester speaks, preferred first.")
    window: TimeWindow | None = Field(default=None, description="When help is needed; none means as soon as possible.")
    urgency: Urgency = Field(default=Urgency.NORMAL, description="How soon; urgent requests are offered first.")
    volunteers_needed: int = Field(default=1, ge=1, le=500, description="How many volunteers: above 1 for a collective need.")
    competences: list[CompetenceCode] = Field(default_factory=list, description="Competences the helper must have.")
    on_behalf_of_another: bool = Field(default=False, description="Someone asks for another person.")
    organisation: OrganisationId | None = Field(
        default=None, description="The partner organisation that asks, or whose network the requester belongs to."
    )
    privacy_notice_version: str = Field(min_length=1, max_length=40, description="Version of the privacy notice consented to.")
    entered_by: StaffId | None = Field(
        default=None, description="Staff id of the operator who entered it during a call; none for self-service."
    )
    personal: SealedPersonalData


class HelpRequestUpdated(_HelpRequestEvent):
    """A help request changed. Fields left out (null) are unchanged."""

    task: TaskCode | None = Field(default=None, description="New task, if changed.")
    postcode: Postcode | None = Field(default=None, description="New place, if changed.")
    languages: Languages | None = Field(default=None, description="New languages, if changed.")
    window: TimeWindow | None = Field(default=None, description="New time window, if changed.")
    urgency: Urgency | None = Field(default=None, description="New urgency, if changed.")
    volunteers_needed: int | None = Field(default=None, ge=1, le=500, description="New number of volunteers, if changed.")
    competences: list[CompetenceCode] | None = Field(default=None, description="New competences, if changed.")
    personal: SealedPersonalData | None = Field(default=None, description="Sealed personal fields that changed.")


class HelpRequestCancelled(_HelpRequestEvent):
    """A help request will not be served any more."""

    reason: RequestCancellationReason = Field(description="Why it was cancelled.")


class _VolunteerEvent(Event):
    TOPIC: ClassVar[str] = topics.VOLUNTEERS
    KEY_FIELD: ClassVar[str] = "volunteer_id"

    volunteer_id: UUID = Field(description="The volunteer's id; the topic key.")


class VolunteerRegistered(_VolunteerEvent):
    """Someone offered to help. Screening opens a case; matching waits for its decision."""

    subject_id: UUID = Field(description="The volunteer as a data subject at gdpr.")
    channel: Channel = Field(description="How the offer came in.")
    form_language: LanguageCode | None = Field(
        default=None, description="Language of the form the offer was made in (web page, console, mail); "
        "none when unknown (an API client that did not say). For the statistics per language."
    )
    tasks: Annotated[list[TaskCode], Field(min_length=1)] = Field(description="Vacancies (tasks) offered.")
    postcode: Postcode = Field(description="Where the volunteer starts from.")
    max_distance_km: float = Field(default=5.0, gt=0, le=100, description="How far the volunteer will go.")
    languages: Languages = Field(description="Languages the volunteer speaks.")
    availability: list[WeeklySlot] = Field(default_factory=list, description="When the volunteer is available; empty means any time.")
    competences: list[CompetenceCode] = Field(default_factory=list, description="Competences stated, e.g. 'driving-licence'.")
    max_tasks_per_week: int = Field(default=3, ge=1, le=50, description="Load cap: no more offers beyond this.")
    is_adult: bool = Field(description="The volunteer declared to be 18 or older.")
    networks: list[OrganisationId] = Field(
        default_factory=list, description="Trusted networks (clubs, neighbourhood groups, partners) the volunteer belongs to."
    )
    privacy_notice_version: str = Field(min_length=1, max_length=40, description="Version of the privacy notice consented to.")
    entered_by: StaffId | None = Field(
        default=None, description="Staff id of the operator who entered it during a call; none for self-service."
    )
    personal: SealedPersonalData
    contact_index: ContactIndex = Field(
        default_factory=list,
        description="gdpr's blind indexes (keyed hashes, not plaintext) of the phone number and e-mail address, "
        "so screening can spot a repeat registration of the same person.",
    )


class VolunteerUpdated(_VolunteerEvent):
    """A volunteer's offer changed. Fields left out (null) are unchanged."""

    tasks: Annotated[list[TaskCode], Field(min_length=1)] | None = Field(default=None, description="New tasks, if changed.")
    postcode: Postcode | None = Field(default=None, description="New place, if changed.")
    max_distance_km: float | None = Field(default=None, gt=0, le=100, description="New reach, if changed.")
    languages: Languages | None = Field(default=None, description="New languages, if changed.")
    availability: list[WeeklySlot] | None = Field(default=None, description="New availability, if changed.")
    competences: list[CompetenceCode] | None = Field(default=None, description="New competences, if changed.")
    max_tasks_per_week: int | None = Field(default=None, ge=1, le=50, description="New load cap, if changed.")
    networks: list[OrganisationId] | None = Field(default=None, description="New trusted networks, if changed.")
    personal: SealedPersonalData | None = Field(default=None, description="Sealed personal fields that changed.")
    contact_index: ContactIndex | None = Field(default=None, description="New blind indexes of phone and e-mail, if changed.")


class VolunteerWithdrawn(_VolunteerEvent):
    """A volunteer no longer offers help; no new offers, open ones are cancelled."""

    reason: WithdrawalReason = Field(description="Why the volunteer withdrew.")


class MailOutcome(StrEnum):
    """What an operator made of a mail to the help address."""

    REQUEST = "request"
    VOLUNTEER = "volunteer"
    DISCARDED = "discarded"


class _MailEvent(Event):
    TOPIC: ClassVar[str] = topics.MAIL
    KEY_FIELD: ClassVar[str] = "mail_id"

    mail_id: UUID = Field(description="The mail's id; the topic key.")


class MailReceived(_MailEvent):
    """A mail to the help address awaits triage by an operator; its text rests sealed in intake's store."""

    subject_id: UUID = Field(description="The sender as a data subject at gdpr.")


class MailTriaged(_MailEvent):
    """An operator turned a mail into a help request or an offer of help, or discarded it; it can no longer be opened."""

    outcome: MailOutcome = Field(description="A help request, an offer of help, or discarded (spam, nothing to do).")
    case_id: UUID | None = Field(
        default=None, description="The help request's or volunteer's id the mail became; none when discarded."
    )
