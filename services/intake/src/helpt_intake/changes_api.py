"""After a submission: change a help request or an offer, cancel a request, withdraw a volunteer.

For the help desk's operators (a caller phones to say the shopping list changed, or that help is
no longer needed) and for a partner organisation about its own requests. Each publishes one
event — `HelpRequestUpdated`, `HelpRequestCancelled`, `VolunteerUpdated`, `VolunteerWithdrawn` —
with changed personal fields sealed by gdpr for the same person. A closed case does not change
(409); a second cancellation is a 409 too, and publishes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from helpt_contracts.events import (
    Event,
    HelpRequestCancelled,
    HelpRequestUpdated,
    RequestCancellationReason,
    Urgency,
    VolunteerUpdated,
    VolunteerWithdrawn,
    WithdrawalReason,
)
from helpt_contracts.roles import Role, Scope
from helpt_contracts.sealed import PersonalField
from helpt_contracts.types import CompetenceCode, LanguageCode, OrganisationId, Postcode, TaskCode, TimeWindow, WeeklySlot
from helpt_intake.api import Intaking, Strict, Text, known_tasks
from helpt_intake.staff import Caller, require
from helpt_intake.submissions import Intake
from helpt_platform.auth import AuthError, Principal

__all__ = ["changes_router"]

changes_router = APIRouter(prefix="/api/v1", tags=["intake"])
_REFUSALS = {401: {"description": "No valid token"}, 403: {"description": "Not yours to change"},
             404: {"description": "No such case"}, 409: {"description": "Closed, or being closed"}}


class Closed(BaseModel):
    id: UUID
    status: str = Field(description="The case's status now: 'cancelled'.")


class Changed(BaseModel):
    id: UUID
    changed: list[str] = Field(description="The fields that changed (personal ones by name only).")


class ContactChange(Strict):
    name: Text | None = None
    phone: Text | None = None
    email: Text | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    def personal(self) -> dict[PersonalField, str]:
        return {PersonalField(k): v for k, v in self.model_dump(exclude_none=True).items()}


class _Change(Strict):
    contact: ContactChange | None = None

    @model_validator(mode="after")
    def _something(self) -> Any:
        if not self.facts() and not self.personal():
            raise ValueError("say what changes: at least one field")
        return self

    def facts(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"contact"})

    def personal(self) -> dict[PersonalField, str]:
        return self.contact.personal() if self.contact else {}


class HelpRequestChange(_Change):
    task: TaskCode | None = None
    postcode: Postcode | None = None
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)] | None = None
    window: TimeWindow | None = None
    urgency: Urgency | None = None
    volunteers_needed: int | None = Field(default=None, ge=1, le=500)
    competences: list[CompetenceCode] | None = Field(default=None, max_length=20)


class VolunteerChange(_Change):
    tasks: Annotated[list[TaskCode], Field(min_length=1, max_length=20)] | None = None
    postcode: Postcode | None = None
    max_distance_km: float | None = Field(default=None, gt=0, le=100)
    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=10)] | None = None
    availability: list[WeeklySlot] | None = Field(default=None, max_length=50)
    competences: list[CompetenceCode] | None = Field(default=None, max_length=20)
    max_tasks_per_week: int | None = Field(default=None, ge=1, le=50)
    networks: list[OrganisationId] | None = Field(default=None, max_length=20)


def _not_erasure(reason: Any) -> Any:
    if reason.value == "erased":
        raise ValueError("erasure is the data protection officer's, through gdpr")
    return reason


class Cancellation(Strict):
    reason: Annotated[RequestCancellationReason, AfterValidator(_not_erasure)]


class Withdrawal(Strict):
    reason: Annotated[WithdrawalReason, AfterValidator(_not_erasure)]


def may_change(who: Principal | None, case: dict[str, Any]) -> Principal:
    """Operators change their municipality's cases; a partner only its own organisation's requests."""
    principal = require(who, Scope.INTAKE_SUBMIT)
    if principal.role is Role.OPERATOR:
        return principal
    if principal.role is Role.PARTNER and principal.organisation and case.get("organisation") == principal.organisation:
        return principal
    raise AuthError(403, "only the help desk, or the partner who asked, may change this")


async def _changeable(who: Principal | None, desk: Intake, case_id: UUID, kind: str) -> tuple[str, dict[str, Any]]:
    """The caller's tenant and the case, once the caller may change it (401/403/404)."""
    principal = require(who, Scope.INTAKE_SUBMIT)
    if principal.role not in (Role.OPERATOR, Role.PARTNER):  # refused before the lookup: no 404 tells them a case exists
        raise AuthError(403, "only the help desk, or the partner who asked, may change this")
    tenant = principal.tenant
    case = await desk.case_doc(tenant, case_id, kind)
    may_change(who, case)
    return tenant, case


@changes_router.post("/help-requests/{request_id}/cancel", response_model=Closed, responses=_REFUSALS,
                     summary="Cancel a help request (operator, or the partner who asked)")
async def cancel_request(request_id: UUID, body: Cancellation, who: Caller, desk: Intaking) -> Closed:
    tenant, case = await _changeable(who, desk, request_id, "request")
    await desk.close(tenant=tenant, case_id=request_id, kind="request", doc=case,
                     event=HelpRequestCancelled(tenant=tenant, request_id=request_id, reason=body.reason))
    return Closed(id=request_id, status="cancelled")


@changes_router.post("/volunteers/{volunteer_id}/withdraw", response_model=Closed, responses=_REFUSALS,
                     summary="Withdraw a volunteer's offer (operator)")
async def withdraw_volunteer(volunteer_id: UUID, body: Withdrawal, who: Caller, desk: Intaking) -> Closed:
    tenant, case = await _changeable(who, desk, volunteer_id, "volunteer")
    await desk.close(tenant=tenant, case_id=volunteer_id, kind="volunteer", doc=case,
                     event=VolunteerWithdrawn(tenant=tenant, volunteer_id=volunteer_id, reason=body.reason))
    return Closed(id=volunteer_id, status="cancelled")


async def _change(request: Request, who: Principal | None, desk: Intake, case_id: UUID, kind: str, body: _Change,
                  tasks: list[str], event: Callable[..., Event]) -> Changed:
    tenant, case = await _changeable(who, desk, case_id, kind)
    if tasks:
        await known_tasks(request, tenant, *tasks)
    await desk.change(tenant=tenant, case_id=case_id, kind=kind, personal=body.personal(), doc=case,
                      build=lambda sealed: event(tenant=tenant, personal=sealed, **body.facts()))
    return Changed(id=case_id, changed=[*body.facts(), *(f.value for f in body.personal())])


@changes_router.patch("/help-requests/{request_id}", response_model=Changed, responses=_REFUSALS,
                      summary="Change an open help request (operator, or the partner who asked)")
async def change_request(request_id: UUID, body: HelpRequestChange, who: Caller, desk: Intaking, request: Request) -> Changed:
    return await _change(request, who, desk, request_id, "request", body, [body.task] if body.task else [],
                         functools.partial(HelpRequestUpdated, request_id=request_id))


@changes_router.patch("/volunteers/{volunteer_id}", response_model=Changed, responses=_REFUSALS,
                      summary="Change an open offer of help (operator)")
async def change_volunteer(volunteer_id: UUID, body: VolunteerChange, who: Caller, desk: Intaking, request: Request) -> Changed:
    return await _change(request, who, desk, volunteer_id, "volunteer", body, body.tasks or [],
                         functools.partial(VolunteerUpdated, volunteer_id=volunteer_id))
