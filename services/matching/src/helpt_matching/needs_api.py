"""Partners' collective needs over HTTP: post a need for N volunteers, read how many places are filled.

A partner posts for its own organisation (the token's); a coordinator posts on behalf of one
(`organisation` in the body). Posting runs the joint assignment at once (`NeedsMatcher.plan`);
should that fail, the need is kept and the offer clock assigns it on its next tick.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from helpt_contracts.roles import Role, Scope
from helpt_contracts.types import CompetenceCode, LanguageCode, OrganisationId, Postcode, TaskCode
from helpt_platform.auth import AuthError, Principal, Refusal
from helpt_platform.logs import get_logger
from helpt_matching.needs import NeedsMatcher, known_competences, known_tasks

__all__ = ["NeedIn", "router"]

log = get_logger(__name__)
router = APIRouter(tags=["partner"])
NAMESPACE = uuid.UUID("5d0c6a34-1f0e-4b8e-9a55-2f1c3e7b9d10")  # need ids from idempotency keys
_PERSONAL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+|(?:\+|\b)\d(?:[\s./-]?\d){6,}")


def _known_task(code: str) -> str:
    if code not in known_tasks():
        raise ValueError(f"unknown vacancy '{code}'; known: {', '.join(sorted(known_tasks()))}")
    return code


def _known_competence(code: str) -> str:
    if code not in known_competences():
        raise ValueError(f"unknown competence '{code}'; known: {', '.join(sorted(known_competences()))}")
    return code


def _no_contact_details(note: str | None) -> str | None:
    if note is not None and _PERSONAL.search(note):
        raise ValueError("the note may not hold an e-mail address or a phone number: volunteers get contact details "
                         "through the match, never through the note")
    return note


class Shift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(description="When the shift starts, with time zone.")
    end: AwareDatetime = Field(description="When it ends, with time zone; after start.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> Shift:
        if self.end <= self.start:
            raise ValueError("a shift must end after it starts")
        return self


class NeedIn(BaseModel):
    """A collective need: how many volunteers, for what, where and when."""

    model_config = ConfigDict(extra="forbid")

    task: Annotated[TaskCode, AfterValidator(_known_task)] = Field(description="The vacancy, e.g. 'logistics'.")
    volunteers_needed: int = Field(ge=1, le=500, description="How many volunteers (1-500).")
    postcode: Postcode = Field(description="Where: a postcode of the municipality's areas.")
    languages: list[LanguageCode] = Field(min_length=1, max_length=10, description="Languages spoken there; a volunteer shares one.")
    competences: list[Annotated[CompetenceCode, AfterValidator(_known_competence)]] = Field(
        default_factory=list, max_length=20, description="Competences every volunteer must have.")
    shifts: list[Shift] = Field(min_length=1, max_length=50, description="When: the shifts each volunteer is asked for.")
    note: Annotated[str | None, AfterValidator(_no_contact_details)] = Field(
        default=None, max_length=500, description="Practical note for volunteers; no personal data.")
    organisation: OrganisationId | None = Field(
        default=None, description="The organisation in need: a coordinator's choice; a partner's is its own.")


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid token"},
    403: {"description": "Not a partner or coordinator of this municipality, or another partner's need"},
    409: {"description": "The Idempotency-Key was used before for a different need"},
    422: {"description": "A need for 0 or more than 500, an unknown vacancy, competence or postcode, a shift that ends before it starts"},
}


def _caller(request: Request, authorization: str | None) -> Principal:
    who = request.app.state.token_verifier().verify(authorization)
    if who.role not in (Role.PARTNER, Role.COORDINATOR) or not who.has(Scope.MATCHING_READ):
        raise AuthError(403, f"role {who.role.value} may not post or read collective needs")
    if who.tenant not in request.app.state.settings.tenant_ids:
        raise AuthError(403, "this service does not serve the token's municipality")
    if who.role is Role.PARTNER and not who.organisation:
        raise AuthError(403, "a partner token must name its organisation")
    return who


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


async def _view(matcher: NeedsMatcher, need: dict[str, Any]) -> dict[str, Any]:
    offers = [o async for o in matcher.offers.find({"request_id": need["_id"]}).sort("created_at", 1)]
    return {"need_id": str(need["_id"]), "organisation": need["organisation"], "task": need["task"],
            "volunteers_needed": need["volunteers_needed"], "postcode": need["postcode"], "languages": need["languages"],
            "competences": need["competences"], "note": need.get("note"),
            "shifts": [{"start": s["start"].isoformat(), "end": s["end"].isoformat()} for s in need["shifts"]],
            "slots": await matcher.slots(need),
            "offers": [{"match_id": str(o["_id"]), "volunteer_id": str(o["volunteer_id"]), "round": o["round"],
                        "status": o["status"], "distance_km": o["distance_km"]} for o in offers]}


@router.post("/api/v1/matching/needs", status_code=201, responses={200: {"description": "A retry: the need posted before"}, **RESPONSES},
             summary="Post a collective need for N volunteers (role partner for its own organisation, or coordinator)")
async def post_need(request: Request, need: NeedIn, authorization: Annotated[str | None, Header()] = None,
                    idempotency_key: Annotated[str | None, Header(pattern=r"^[A-Za-z0-9_.:-]{8,100}$")] = None) -> JSONResponse:
    who = _caller(request, authorization)
    if who.role is Role.PARTNER:
        if need.organisation not in (None, who.organisation):
            raise AuthError(403, "a partner posts needs for its own organisation only")
        organisation = who.organisation
    elif need.organisation is None:
        raise _invalid("organisation", "a coordinator names the organisation the need is posted for")
    else:
        organisation = need.organisation
    if need.postcode not in request.app.state.areas(who.tenant).by_postcode:
        raise _invalid("postcode", f"postcode {need.postcode} is not an area of {who.tenant}")
    body = need.model_dump(mode="json", exclude={"organisation"})
    fingerprint = hashlib.sha256(json.dumps([organisation, body], sort_keys=True).encode()).hexdigest()
    need_id = uuid.uuid5(NAMESPACE, f"{who.tenant}/{organisation}/{idempotency_key}") if idempotency_key else uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    matcher: NeedsMatcher = request.app.state.matcher()
    stored, created = await matcher.post({
        "_id": need_id, "tenant": who.tenant, "organisation": organisation, "task": need.task,
        "volunteers_needed": need.volunteers_needed, "postcode": need.postcode, "languages": need.languages,
        "competences": need.competences, "shifts": [s.model_dump() for s in need.shifts], "note": need.note,
        "posted_by_role": who.role.value, "fingerprint": fingerprint, "created_at": now})
    if not created and stored.get("fingerprint") != fingerprint:
        raise Refusal(409, "this Idempotency-Key was used for a different need")
    if created:
        try:
            await matcher.offer_waiting(who.tenant, now)
        except Exception as exc:  # noqa: BLE001 — the need is kept; the offer clock assigns it on its next tick
            log.warning("assignment after posting failed; the clock retries", error=type(exc).__name__)
    return JSONResponse(await _view(matcher, stored), status_code=201 if created else 200)


@router.get("/api/v1/matching/needs/{need_id}", responses={**RESPONSES, 404: {"description": "No such need for your organisation"}},
            summary="A collective need with its places filled, offered and open (the posting partner or a coordinator)")
async def read_need(request: Request, need_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    who = _caller(request, authorization)
    matcher: NeedsMatcher = request.app.state.matcher()
    need = await matcher.need(who.tenant, need_id)
    if need is None or (who.role is Role.PARTNER and need["organisation"] != who.organisation):
        raise Refusal(404, "no such need for your organisation")
    return await _view(matcher, need)
