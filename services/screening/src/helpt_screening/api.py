"""Screening's JSON API for screeners (role screener; screening:read / screening:decide; the token's tenant).

A thin layer over `ScreeningDesk`: the screener pages will call the same methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from helpt_contracts.events import ScreeningReason
from helpt_contracts.roles import Scope
from helpt_platform.auth import AuthError, Principal
from helpt_screening.desk import CaseDetail, CaseSummary, Revealed, ScreeningDesk
from helpt_screening.domain import Action

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/screening", tags=["screening"])
REFUSALS = {401: {"description": "No valid token"}, 403: {"description": "Not a screener, or another municipality"},
            404: {"description": "No such case"}}
DECIDING = {**REFUSALS, 409: {"description": "The case is closed, or another decision came first (it stands)"},
            422: {"description": "A reason code outside the list, or one that does not fit the decision"}}
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "ask-for-information"]
    reason: ScreeningReason = Field(description="A reason code from the fixed list.")
    note: Note | None = Field(default=None, description="Free text; sealed at gdpr, never published.")


class Reasoned(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ScreeningReason
    note: Note | None = None


def _desk(request: Request) -> ScreeningDesk:
    return request.app.state.desk()


def _screener(scope: Scope) -> Callable[..., tuple[Principal, str]]:
    def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> tuple[Principal, str]:
        who = request.app.state.token_verifier().verify(authorization)
        if not who.has(scope):
            raise AuthError(403, f"role {who.role.value} lacks {scope.value}")
        if who.tenant not in request.app.state.settings.tenant_ids:
            raise AuthError(403, "this service does not serve the token's municipality")
        return who, (authorization or "").split(" ", 1)[1].strip()

    return check


Reader = Annotated[tuple[Principal, str], Depends(_screener(Scope.SCREENING_READ))]
Decider = Annotated[tuple[Principal, str], Depends(_screener(Scope.SCREENING_DECIDE))]
Desk = Annotated[ScreeningDesk, Depends(_desk)]


@router.get("/queue", response_model=list[CaseSummary], responses=REFUSALS,
            summary="Open cases: volunteers for the vacancies with the most unmet requests first, then the longest waiting")
async def queue(who: Reader, desk: Desk) -> list[CaseSummary]:
    return await desk.queue(who[0])


@router.get("/cases/{case_id}", response_model=CaseDetail, responses=REFUSALS,
            summary="One case: facts, flags, history, publication state, guidelines link")
async def case(case_id: UUID, who: Reader, desk: Desk) -> CaseDetail:
    return await desk.case(who[0], case_id)


@router.post("/cases/{case_id}/reveal", response_model=Revealed,
             responses={**REFUSALS, 409: {"description": "The case is closed"}},
             summary="The volunteer's personal details and the case's notes, opened by gdpr while the case is open (audited there)")
async def reveal(case_id: UUID, who: Reader, desk: Desk) -> Revealed:
    return await desk.reveal(who[0], who[1], case_id)


@router.post("/cases/{case_id}/decision", response_model=CaseDetail, responses=DECIDING,
             summary="Approve, reject or ask for information, with a reason code and a note")
async def decide(case_id: UUID, body: Decision, who: Decider, desk: Desk) -> CaseDetail:
    return await desk.decide(who[0], case_id, Action(body.decision), body.reason, body.note)


@router.post("/cases/{case_id}/suspend", response_model=CaseDetail, responses=DECIDING,
             summary="Suspend an approved volunteer (a complaint, a later finding): no new offers, at once")
async def suspend(case_id: UUID, body: Reasoned, who: Decider, desk: Desk) -> CaseDetail:
    return await desk.decide(who[0], case_id, Action.SUSPEND, body.reason, body.note)


@router.post("/cases/{case_id}/reverse", response_model=CaseDetail, responses=DECIDING,
             summary="Take back the last decision, with a reason: the case is open for review again")
async def reverse(case_id: UUID, body: Reasoned, who: Decider, desk: Desk) -> CaseDetail:
    return await desk.decide(who[0], case_id, Action.REVERSE, body.reason, body.note)
