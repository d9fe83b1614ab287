"""The phone console's JSON API for call-centre operators (role operator, intake:lookup, own tenant).

What an operator sees is a `CaseView`: facts and status, never personal data. To hear a caller's
details again the console asks gdpr to reveal them, for a stated purpose, audited there.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from helpt_contracts.roles import Scope
from helpt_intake.cases import CaseBook, CaseView
from helpt_intake.staff import Caller, require
from helpt_platform.auth import AuthError, Principal, Refusal

__all__ = ["console_router"]

console_router = APIRouter(prefix="/api/v1/console", tags=["phone console"],
                           responses={401: {"description": "No valid token"}, 403: {"description": "Not an operator"}})


async def case_book(request: Request) -> CaseBook:
    return request.app.state.case_book()


def operator(who: Caller, request: Request) -> Principal:
    principal = require(who, Scope.INTAKE_LOOKUP)
    if principal.tenant not in request.app.state.settings.tenant_ids:
        raise AuthError(403, "this help desk does not serve the token's municipality")
    return principal


Book = Annotated[CaseBook, Depends(case_book)]
Operator = Annotated[Principal, Depends(operator)]


class SearchAsk(BaseModel):
    """Whom to look for: in the body, never in the URL (a URL ends up in proxies' logs)."""

    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(default=None, max_length=40, description="As the caller says it; spaces and +32/0 are fine.")
    email: str | None = Field(default=None, max_length=254)


@console_router.post("/search", response_model=list[CaseView], summary="Earlier contacts by phone number or e-mail",
                     responses={422: {"description": "Neither given, or not a phone number / e-mail address"}})
async def search(who: Operator, book: Book, ask: SearchAsk) -> list[CaseView]:
    """Cases of whoever has this phone number or e-mail address, newest first."""
    phone, email = (ask.phone or "").strip() or None, (ask.email or "").strip() or None
    if not (phone or email):
        raise Refusal(422, "give a phone number or an e-mail address to search for")
    return await book.search(who.tenant, phone=phone, email=email)


@console_router.get("/my-cases", response_model=list[CaseView], summary="The cases this operator entered, with their status")
async def my_cases(who: Operator, book: Book) -> list[CaseView]:
    """Newest first, so an operator sees at once when a case they took is matched or done."""
    return await book.entered_by(who.tenant, who.sub)


@console_router.get("/call-backs", response_model=list[CaseView], summary="Help requests that waited too long without a match")
async def call_backs(who: Operator, book: Book) -> list[CaseView]:
    """Requests still without an accepted match after the call-back threshold: urgent first, then oldest."""
    return await book.waiting_too_long(who.tenant, dt.datetime.now(dt.UTC))
