"""Intake's JSON API: help requests and offers of help (the vacancies: `catalogue_api`)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from helpt_contracts.events import HelpRequested, Urgency, VolunteerRegistered
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_contracts.types import Channel, CompetenceCode, LanguageCode, OrganisationId, Postcode, TaskCode, TimeWindow, WeeklySlot
from helpt_intake.submissions import Intake
from helpt_platform.auth import Refusal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["intake"])
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(Strict):
    name: Text = Field(description="Full name.")
    phone: Text | None = Field(default=None, description="Phone number.")
    email: Text | None = Field(default=None, description="E-mail address.")
    address: Annotated[str, StringConstraints(max_length=300)] | None = Field(default=None, description="Street and number.")
    note: Annotated[str, StringConstraints(max_length=2000)] | None = Field(default=None, description="Anything else we should know.")

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not (self.phone or self.email):
            raise ValueError("give a phone number or an e-mail address, so we can reach you")
        return self

    def personal(self) -> dict[PersonalField, str]:
        return {PersonalField(k): v for k, v in self.model_dump(exclude_none=True).items()}


class HelpRequestIn(Strict):
    tenant: str | None = Field(default=None, description="Municipality; the default one if left out.")
    task: TaskCode
    postcode: Postcode
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)]
    window: TimeWindow | None = None
    urgency: Urgency = Urgency.NORMAL
    volunteers_needed: int = Field(default=1, ge=1, le=500)
    competences: list[CompetenceCode] = Field(default_factory=list, max_length=20)
    on_behalf_of_another: bool = False
    organisation: OrganisationId | None = None
    consent: Literal[True] = Field(description="The person agrees to the privacy notice.")
    contact: Contact


class VolunteerIn(Strict):
    tenant: str | None = None
    tasks: Annotated[list[TaskCode], Field(min_length=1, max_length=20)]
    postcode: Postcode
    max_distance_km: float = Field(default=5.0, gt=0, le=100)
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)]
    availability: list[WeeklySlot] = Field(default_factory=list, max_length=50)
    competences: list[CompetenceCode] = Field(default_factory=list, max_length=20)
    max_tasks_per_week: int = Field(default=3, ge=1, le=50)
    is_adult: bool
    networks: list[OrganisationId] = Field(default_factory=list, max_length=20)
    consent: Literal[True] = Field(description="The person agrees to the privacy notice.")
    contact: Contact


class Accepted(BaseModel):
    id: UUID
    reference: str = Field(description="Quote it when you call us.")


async def intake(request: Request) -> Intake:
    return request.app.state.intake()


Intaking = Annotated[Intake, Depends(intake)]


async def _known_tasks(request: Request, tenant: str, *codes: str) -> None:
    # Only what the tenant has published: a vacancy still in a draft is unknown to the public.
    catalogue = await request.app.state.catalogues().published(tenant)
    unknown = [c for c in codes if not catalogue.has(c)]
    if unknown:
        raise Refusal(422, f"unknown vacancy: {', '.join(unknown)}")


@router.post("/help-requests", status_code=202, response_model=Accepted, summary="Ask for help")
async def ask_for_help(body: HelpRequestIn, request: Request, desk: Intaking, idempotency_key: IdempotencyKey = None) -> Accepted:
    settings = request.app.state.settings
    tenant = body.tenant or settings.default_tenant
    await _known_tasks(request, tenant, body.task)

    def build(case_id: UUID, reference: str, subject_id: UUID, sealed: dict[PersonalField, SealedField]) -> HelpRequested:
        fields = body.model_dump(exclude={"tenant", "consent", "contact"})
        return HelpRequested(tenant=tenant, request_id=case_id, reference=reference, subject_id=subject_id, channel=Channel.WEB,
                             privacy_notice_version=settings.privacy_notice_version, personal=sealed, **fields)

    received = await desk.submit(kind="request", tenant=tenant, idempotency_key=idempotency_key,
                                 personal=body.contact.personal(), build=build)
    return Accepted(id=received.id, reference=received.reference)


@router.post("/volunteers", status_code=202, response_model=Accepted, summary="Offer help")
async def offer_help(body: VolunteerIn, request: Request, desk: Intaking, idempotency_key: IdempotencyKey = None) -> Accepted:
    settings = request.app.state.settings
    tenant = body.tenant or settings.default_tenant
    await _known_tasks(request, tenant, *body.tasks)

    def build(case_id: UUID, reference: str, subject_id: UUID, sealed: dict[PersonalField, SealedField]) -> VolunteerRegistered:
        fields = body.model_dump(exclude={"tenant", "consent", "contact"})
        return VolunteerRegistered(tenant=tenant, volunteer_id=case_id, subject_id=subject_id, channel=Channel.WEB,
                                   privacy_notice_version=settings.privacy_notice_version, personal=sealed, **fields)

    received = await desk.submit(kind="volunteer", tenant=tenant, idempotency_key=idempotency_key,
                                 personal=body.contact.personal(), build=build)
    return Accepted(id=received.id, reference=received.reference)
