"""Intake's JSON API: help requests and offers of help (the vacancies: `catalogue_api`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from helpt_contracts.events import HelpRequested, Urgency, VolunteerRegistered
from helpt_contracts.roles import Role, Scope
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_contracts.types import Channel, CompetenceCode, LanguageCode, OrganisationId, Postcode, TaskCode, TimeWindow, WeeklySlot
from helpt_intake.staff import Caller, require
from helpt_intake.submissions import Intake
from helpt_intake.tenancy import tenant_of
from helpt_platform.auth import AuthError, Principal, Refusal

__all__ = ["Accepted", "Channelled", "Contact", "HelpRequestIn", "VolunteerIn", "known_tasks", "router", "take_help_request", "take_offer"]

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
    tenant: str | None = Field(default=None, description="Municipality; if left out, the one of the address (/t/<tenant>/, host name), else the default one.")
    task: TaskCode
    postcode: Postcode
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)]
    window: TimeWindow | None = None
    urgency: Urgency = Urgency.NORMAL
    volunteers_needed: int = Field(default=1, ge=1, le=500)
    competences: list[CompetenceCode] = Field(default_factory=list, max_length=20)
    on_behalf_of_another: bool = False
    organisation: OrganisationId | None = None
    form_language: LanguageCode | None = Field(default=None, description="Language of the form the person filled in, if any.")
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
    form_language: LanguageCode | None = Field(default=None, description="Language of the form the person filled in, if any.")
    consent: Literal[True] = Field(description="The person agrees to the privacy notice.")
    contact: Contact


class Accepted(BaseModel):
    id: UUID
    reference: str = Field(description="Quote it when you call us.")


async def intake(request: Request) -> Intake:
    return request.app.state.intake()


Intaking = Annotated[Intake, Depends(intake)]


async def known_tasks(request: Request, tenant: str, *codes: str) -> None:
    # Only what the tenant has published: a vacancy still in a draft is unknown to the public.
    catalogue = await request.app.state.catalogues().published(tenant)
    unknown = [c for c in codes if not catalogue.has(c)]
    if unknown:
        raise Refusal(422, f"unknown vacancy: {', '.join(unknown)}")


@dataclass(frozen=True)
class Channelled:
    """How a submission came in, from its token: no token is a citizen's own web form."""

    channel: Channel
    tenant: str
    entered_by: str | None = None
    organisation: str | None = None
    subject_id: UUID | None = None
    """The person as gdpr already knows them (the sender of a mail): sealed for them, not for someone new."""


def _channel(who: Principal | None, asked_tenant: str | None, default_tenant: str) -> Channelled:
    if who is None:
        return Channelled(Channel.WEB, asked_tenant or default_tenant)
    require(who, Scope.INTAKE_SUBMIT)
    if asked_tenant and asked_tenant != who.tenant:
        raise AuthError(403, "the token belongs to another municipality")
    if who.role is Role.OPERATOR:
        return Channelled(Channel.PHONE, who.tenant, entered_by=who.sub)
    if who.role is Role.PARTNER:
        if not who.organisation:
            raise AuthError(403, "a partner token must name its organisation")
        return Channelled(Channel.PARTNER, who.tenant, organisation=who.organisation)
    return Channelled(Channel.WEB, who.tenant)


async def take_help_request(request: Request, body: HelpRequestIn, desk: Intake, idempotency_key: str | None,
                            via: Channelled) -> Accepted:
    """Seal, keep and publish one help request, whichever channel brought it (API, web form, console)."""
    settings = request.app.state.settings
    organisation = body.organisation
    if via.organisation:
        if organisation and organisation != via.organisation:
            raise AuthError(403, "a partner asks for help only in its own organisation's name")
        organisation = via.organisation
    await known_tasks(request, via.tenant, body.task)

    def build(case_id: UUID, reference: str, subject_id: UUID, sealed: dict[PersonalField, SealedField]) -> HelpRequested:
        fields = body.model_dump(exclude={"tenant", "consent", "contact", "organisation"})
        return HelpRequested(tenant=via.tenant, request_id=case_id, reference=reference, subject_id=subject_id, channel=via.channel,
                             entered_by=via.entered_by, organisation=organisation,
                             privacy_notice_version=settings.privacy_notice_version, personal=sealed, **fields)

    received = await desk.submit(kind="request", tenant=via.tenant, idempotency_key=idempotency_key,
                                 personal=body.contact.personal(), build=build, channel=via.channel, entered_by=via.entered_by,
                                 subject_id=via.subject_id)
    return Accepted(id=received.id, reference=received.reference)


async def take_offer(request: Request, body: VolunteerIn, desk: Intake, idempotency_key: str | None,
                     via: Channelled) -> Accepted:
    """Seal, keep and publish one offer of help, whichever channel brought it; a partner's volunteer joins its network."""
    settings = request.app.state.settings
    networks = list(body.networks)
    if via.organisation and via.organisation not in networks:
        networks.append(via.organisation)
    await known_tasks(request, via.tenant, *body.tasks)

    def build(case_id: UUID, reference: str, subject_id: UUID, sealed: dict[PersonalField, SealedField]) -> VolunteerRegistered:
        fields = body.model_dump(exclude={"tenant", "consent", "contact", "networks"})
        return VolunteerRegistered(tenant=via.tenant, volunteer_id=case_id, subject_id=subject_id, channel=via.channel,
                                   entered_by=via.entered_by, networks=networks,
                                   privacy_notice_version=settings.privacy_notice_version, personal=sealed, **fields)

    received = await desk.submit(kind="volunteer", tenant=via.tenant, idempotency_key=idempotency_key,
                                 personal=body.contact.personal(), build=build, channel=via.channel, entered_by=via.entered_by,
                                 subject_id=via.subject_id)
    return Accepted(id=received.id, reference=received.reference)


_TOKEN_RESPONSES = {401: {"description": "Bad or expired token"}, 403: {"description": "Role may not submit, or another tenant"},
                    422: {"description": "Not valid: which field and what is wrong (an unknown vacancy, postcode, ...)"}}


@router.post("/help-requests", status_code=202, response_model=Accepted, summary="Ask for help", responses=_TOKEN_RESPONSES)
async def ask_for_help(body: HelpRequestIn, request: Request, desk: Intaking, who: Caller,
                       idempotency_key: IdempotencyKey = None) -> Accepted:
    """Without a token: a citizen's web form. An operator's token: entered during a call (channel phone).
    A partner's token: the partner organisation asks (channel partner)."""
    via = _channel(who, body.tenant, tenant_of(request))
    return await take_help_request(request, body, desk, idempotency_key, via)


@router.post("/volunteers", status_code=202, response_model=Accepted, summary="Offer help", responses=_TOKEN_RESPONSES)
async def offer_help(body: VolunteerIn, request: Request, desk: Intaking, who: Caller,
                     idempotency_key: IdempotencyKey = None) -> Accepted:
    """Channels as for help requests; a volunteer a partner registers joins that partner's network."""
    via = _channel(who, body.tenant, tenant_of(request))
    return await take_offer(request, body, desk, idempotency_key, via)
