"""gdpr's commands to every service, and the receipts that prove they were carried out."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import Field

from helpt_contracts import topics
from helpt_contracts.events.base import Event
from helpt_contracts.roles import ServiceName

__all__ = [
    "CrisisPurgeRequested",
    "PurgeCompleted",
    "PurgeScope",
    "SubjectAccessRequested",
    "SubjectDataExported",
    "SubjectErasureRequested",
    "SubjectKind",
]


class SubjectKind(StrEnum):
    """What kind of data subject."""

    REQUESTER = "requester"
    VOLUNTEER = "volunteer"
    PARTNER_CONTACT = "partner-contact"


class PurgeScope(StrEnum):
    """What a purge covered."""

    SUBJECT = "subject"
    TENANT = "tenant"


class SubjectErasureRequested(Event):
    """gdpr destroyed one subject's key (GDPR art. 17); every service deletes what it holds on them."""

    TOPIC: ClassVar[str] = topics.GDPR_COMMANDS
    KEY_FIELD: ClassVar[str] = "subject_id"

    purge_id: UUID = Field(description="Id of this erasure; receipts refer to it.")
    subject_id: UUID = Field(description="The data subject erased; the topic key.")
    subject_kind: SubjectKind = Field(description="What kind of subject.")


class CrisisPurgeRequested(Event):
    """Two crisis leads ended the crisis: gdpr destroyed the tenant's keys; every service purges the tenant."""

    TOPIC: ClassVar[str] = topics.GDPR_COMMANDS
    KEY_FIELD: ClassVar[str] = "tenant"

    purge_id: UUID = Field(description="Id of this purge; receipts refer to it.")
    approvals: int = Field(ge=2, description="How many crisis leads approved (at least two).")


class PurgeCompleted(Event):
    """A service deleted what an erasure or purge asked for; gdpr collects these for its report."""

    TOPIC: ClassVar[str] = topics.GDPR_RECEIPTS
    KEY_FIELD: ClassVar[str] = "purge_id"

    purge_id: UUID = Field(description="The erasure or purge this answers; the topic key.")
    service: ServiceName = Field(description="The service that purged.")
    scope: PurgeScope = Field(description="A subject's erasure or the whole tenant's purge.")
    counts: dict[Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,64}$")], Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="What was deleted, per collection or kind: numbers only."
    )


class SubjectAccessRequested(Event):
    """The data protection officer answers a subject access request (GDPR art. 15): every service sends what it holds."""

    TOPIC: ClassVar[str] = topics.GDPR_COMMANDS
    KEY_FIELD: ClassVar[str] = "subject_id"

    access_id: UUID = Field(description="Id of this access request; answers refer to it.")
    subject_id: UUID = Field(description="The data subject asking; the topic key.")


CollectionName = Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,64}$")]


class SubjectDataExported(Event):
    """A service's answer to a subject access request: every document it holds on the subject, personal fields still sealed."""

    TOPIC: ClassVar[str] = topics.GDPR_RECEIPTS
    KEY_FIELD: ClassVar[str] = "access_id"

    access_id: UUID = Field(description="The access request this answers; the topic key.")
    service: ServiceName = Field(description="The service that answers.")
    documents: dict[CollectionName, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Per collection, the subject's documents as JSON; personal fields sealed."
    )
