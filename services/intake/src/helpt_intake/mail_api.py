"""The operators' mail desk: list the mails awaiting triage, open one, confirm it as a request or an offer, or discard it.

Opening goes to gdpr with the operator's own bearer token, so gdpr decides on and audits the
operator, not intake. Confirming publishes through `Intake.submit` with channel email and an
idempotency key derived from the mail id: a double click publishes once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from helpt_contracts.events import MailOutcome
from helpt_contracts.roles import ActionKind, Purpose, Role, Scope
from helpt_contracts.sealed import PersonalField
from helpt_contracts.types import Channel
from helpt_intake.api import Accepted, Channelled, HelpRequestIn, VolunteerIn, known_tasks, take_help_request, take_offer
from helpt_intake.triage import MailTriage
from helpt_platform.auth import AuthError, Principal
from helpt_platform.gdpr_client import GdprClient

__all__ = ["MailSummary", "OpenedMail", "by_mail", "confirm_mail", "mail_router", "read_mail"]

mail_router = APIRouter(prefix="/api/v1/mail", tags=["mail desk"])
REFUSALS = {401: {"description": "No valid token"}, 403: {"description": "Not an operator, or gdpr refuses"},
            404: {"description": "No such mail"}, 409: {"description": "Already triaged"}}


class MailSummary(BaseModel):
    id: UUID
    received_at: dt.datetime
    size: int = Field(description="Size of the mail as received, in bytes.")
    attachments: int = Field(description="How many attachments it had; they are not kept.")


class OpenedMail(MailSummary):
    name: str | None = Field(default=None, description="The sender's display name, if the mail gave one.")
    email: str | None = Field(default=None, description="The sender's address.")
    note: str = Field(description="Subject and text of the mail (attachments left out).")
    shortened: bool = Field(description="The text was longer and was cut.")
    earlier_mails: int = Field(description="Other mails from the same address (found by its blind index).")


class Triaged(BaseModel):
    id: UUID
    outcome: MailOutcome


def _desk(request: Request) -> MailTriage:
    return request.app.state.mail_triage


def _operator(scope: Scope):
    def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> tuple[Principal, str]:
        who = _desk(request).verifier.verify(authorization)
        if who.role is not Role.OPERATOR or not who.has(scope):
            raise AuthError(403, f"role {who.role.value} may not use the mail desk")
        return who, authorization or ""

    return check


Reader = Annotated[tuple[Principal, str], Depends(_operator(Scope.INTAKE_LOOKUP))]
Submitter = Annotated[tuple[Principal, str], Depends(_operator(Scope.INTAKE_SUBMIT))]
Desk = Annotated[MailTriage, Depends(_desk)]


def _summary(mail: dict) -> dict:
    return {"id": mail["_id"], "received_at": mail["received_at"], "size": mail.get("size", 0),
            "attachments": mail.get("attachments", 0)}


@mail_router.get("", response_model=list[MailSummary], summary="Mails awaiting triage, oldest first (operator)",
                 responses=REFUSALS)
async def open_mails(who: Reader, desk: Desk) -> list[dict]:
    return [_summary(m) for m in await desk.open_mails(who[0].tenant)]


@mail_router.post("/{mail_id}/open", response_model=OpenedMail, summary="Read one mail; gdpr decides and audits",
                  responses=REFUSALS)
async def open_mail(mail_id: UUID, who: Reader, desk: Desk) -> OpenedMail:
    principal, authorization = who
    return await read_mail(desk, principal, authorization.split(" ", 1)[1].strip(), mail_id)


async def read_mail(desk: MailTriage, principal: Principal, bearer: str, mail_id: UUID) -> OpenedMail:
    """Open one mail through gdpr with the operator's own token, so gdpr decides and audits in their name."""
    mail = await desk.draft(principal.tenant, mail_id)
    as_operator = GdprClient(desk.settings.gdpr_url, lambda _tenant: bearer)
    try:
        fields = await as_operator.reveal(principal.tenant, mail["subject_ids"][0], Purpose.MAIL_TRIAGE,
                                          (ActionKind.MAIL, mail_id), desk.sealed_fields(mail))
    finally:
        await as_operator.aclose()
    return OpenedMail(**_summary(mail), name=fields.get(PersonalField.NAME), email=fields.get(PersonalField.EMAIL),
                      note=fields.get(PersonalField.NOTE, ""), shortened=mail.get("shortened", False),
                      earlier_mails=await desk.earlier_mails(principal.tenant, mail))


def _tenant(principal: Principal, named: str | None) -> str:
    if named and named != principal.tenant:
        raise AuthError(403, "the token belongs to another municipality")
    return principal.tenant


async def by_mail(desk: MailTriage, principal: Principal, mail_id: UUID) -> Channelled:
    """Channel email, entered by the operator, for the mail's sender as gdpr knows them (404/409 for no open mail)."""
    mail = await desk.draft(principal.tenant, mail_id)
    return Channelled(Channel.EMAIL, principal.tenant, entered_by=principal.sub, subject_id=mail["subject_ids"][0])


async def _by_mail(desk: MailTriage, principal: Principal, named_tenant: str | None, mail_id: UUID) -> Channelled:
    _tenant(principal, named_tenant)
    return await by_mail(desk, principal, mail_id)


async def confirm_mail(request: Request, desk: MailTriage, mail_id: UUID, outcome: MailOutcome, take: Any,
                       body: HelpRequestIn | VolunteerIn, via: Channelled) -> Accepted:
    """Take the mail and publish what it became, once: `take` is `take_help_request` or `take_offer`."""
    intake = request.app.state.intake()

    async def submit() -> Accepted:
        return await take(request, body, intake, f"mail-{mail_id}", via)

    received = await desk.triage(via.tenant, mail_id, outcome, submit)
    assert received is not None
    return Accepted(id=received.id, reference=received.reference)


@mail_router.post("/{mail_id}/help-request", status_code=202, response_model=Accepted, responses=REFUSALS,
                  summary="Confirm a mail as a help request; publishes HelpRequested (channel email) once")
async def confirm_help_request(mail_id: UUID, body: HelpRequestIn, who: Submitter, desk: Desk, request: Request) -> Accepted:
    via = await _by_mail(desk, who[0], body.tenant, mail_id)
    await known_tasks(request, via.tenant, body.task)
    return await confirm_mail(request, desk, mail_id, MailOutcome.REQUEST, take_help_request, body, via)


@mail_router.post("/{mail_id}/volunteer", status_code=202, response_model=Accepted, responses=REFUSALS,
                  summary="Confirm a mail as an offer of help; publishes VolunteerRegistered (channel email) once")
async def confirm_volunteer(mail_id: UUID, body: VolunteerIn, who: Submitter, desk: Desk, request: Request) -> Accepted:
    via = await _by_mail(desk, who[0], body.tenant, mail_id)
    await known_tasks(request, via.tenant, *body.tasks)
    return await confirm_mail(request, desk, mail_id, MailOutcome.VOLUNTEER, take_offer, body, via)


@mail_router.post("/{mail_id}/discard", response_model=Triaged, responses=REFUSALS,
                  summary="Discard a mail (spam, nothing to do); it can no longer be opened")
async def discard(mail_id: UUID, who: Submitter, desk: Desk) -> Triaged:
    await desk.triage(who[0].tenant, mail_id, MailOutcome.DISCARDED)
    return Triaged(id=mail_id, outcome=MailOutcome.DISCARDED)
