"""gdpr's HTTP API: seal, reveal (single and batch), audit query and verification."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import jwt
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from helpt_contracts.roles import ActionKind, Purpose, Scope
from helpt_contracts.events import SubjectKind
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_contracts.types import TenantId
from helpt_gdpr.keeper import Denied, Keeper, RevealAsk
from helpt_gdpr.access import SubjectAccess
from helpt_gdpr.purges import Purges
from helpt_platform.auth import AuthError, Principal, Refusal
from helpt_platform.logs import get_logger
from helpt_platform.service import refused

__all__ = ["audit_denial", "router"]

log = get_logger(__name__)

# Every operation here needs a token: say so once for all of them.
router = APIRouter(prefix="/api/v1", tags=["personal data"], responses={
    401: {"description": "No valid token"}, 403: {"description": "The role may not, or another municipality"}})
Plaintext = Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class BlindIndexes(BaseModel):
    phone: str | None = Field(default=None, description="Keyed hash of the E.164 number, hex.")
    email: str | None = Field(default=None, description="Keyed hash of the normalised address, hex.")


class SealItem(BaseModel):
    tenant: TenantId
    subject_id: UUID | None = Field(default=None, description="An existing subject; omit for a new one.")
    fields: dict[PersonalField, Plaintext] = Field(min_length=1, description="Plaintext personal fields to seal.")
    index: bool = Field(default=False, description="Also answer the blind indexes of the phone and e-mail fields "
                                                   "(as /blind-index does): one call instead of two for a new contact.")


class Sealed(BaseModel):
    subject_id: UUID
    sealed: dict[PersonalField, SealedField]
    index: BlindIndexes | None = Field(default=None, description="The phone's and e-mail's blind indexes, when asked for.")


class Action(BaseModel):
    kind: ActionKind
    id: UUID


class RevealItem(BaseModel):
    tenant: TenantId
    subject_id: UUID
    purpose: Purpose
    action: Action = Field(description="The screening case, match, request or subject the reveal is for.")
    sealed: dict[PersonalField, SealedField] = Field(min_length=1)


class Revealed(BaseModel):
    subject_id: UUID
    fields: dict[PersonalField, str]


class RevealOutcome(BaseModel):
    status: int = Field(description="200 when revealed; else the status a single reveal would have had.")
    subject_id: UUID
    fields: dict[PersonalField, str] | None = None
    reason: str | None = None


T = TypeVar("T")


class Batch(BaseModel, Generic[T]):
    items: list[T] = Field(min_length=1, max_length=500)


async def keeper(request: Request) -> Keeper:
    return await request.app.state.gdpr.keeper()


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal | AuthError:
    """The verified caller, or why there is none (reveal audits that too)."""
    try:
        who = request.app.state.gdpr.verifier.verify(authorization)
    except AuthError as error:
        return error
    request.state.principal = who  # a refusal further on is audited in this caller's name (`audit_denial`)
    return who


async def audit_denial(request: Request, refusal: Exception) -> JSONResponse:
    """Every 401 and 403 gdpr answers is in the audit log (a reveal's own refusals are audited by the keeper).

    The record goes to the caller's municipality's chain: the verified caller's, else the one an
    unverifiable token names, else the one the request names — when that is a municipality served
    here; a refusal naming none of them is logged without data and not chained anywhere.
    """
    assert isinstance(refusal, Refusal)
    if refusal.status in (401, 403) and not getattr(refusal, "audited", False):
        who: Principal | None = getattr(request.state, "principal", None)
        served = request.app.state.gdpr.settings.tenant_ids
        tenant = who.tenant if who else _claimed_tenant(request)
        if tenant in served:
            keep = await request.app.state.gdpr.keeper()
            route = request.scope.get("route")
            await keep.audit.append(tenant, "request", "denied", reason=refusal.reason, status=refusal.status,
                                    operation_path=getattr(route, "path", "?"), method=request.method,
                                    actor=who.sub if who else None, role=who.role.value if who else None,
                                    organisation=who.organisation if who else None)
        else:
            log.info("refusal not chained: no municipality served here is named", status=refusal.status)
    return await refused(request, refusal)


def _claimed_tenant(request: Request) -> str | None:
    """The municipality an unverifiable token claims, or the request's `tenant` query parameter; None when neither."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        try:
            claimed = jwt.decode(authorization[7:].strip(), options={"verify_signature": False}).get("tenant")
        except jwt.PyJWTError:
            claimed = None
        if isinstance(claimed, str):
            return claimed
    return request.query_params.get("tenant")


def _require(who: Principal | AuthError, scope: Scope) -> Principal:
    if isinstance(who, AuthError):
        raise who
    if not who.has(scope):
        raise AuthError(403, f"role {who.role.value} lacks {scope.value}")
    return who


Caller = Annotated[Principal | AuthError, Depends(caller)]
Keep = Annotated[Keeper, Depends(keeper)]


@router.post("/seal", response_model=Sealed, summary="Seal one subject's personal fields (services only)",
             responses={422: {"description": "With `index`: the phone or e-mail field is not a phone number or e-mail address"}})
async def seal(item: SealItem, who: Caller, keep: Keep) -> Sealed:
    principal = _require(who, Scope.GDPR_SEAL)
    index = None
    if item.index:  # first: a contact that cannot be indexed is refused before a key is made for it
        phone, email = await keep.blind_indexes(principal, item.tenant, item.fields.get(PersonalField.PHONE),
                                                item.fields.get(PersonalField.EMAIL))
        index = BlindIndexes(phone=phone, email=email)
    subject_id, sealed = await keep.seal(principal, item.tenant, item.subject_id, item.fields)
    return Sealed(subject_id=subject_id, sealed=sealed, index=index)


@router.post("/seal/batch", response_model=Batch[Sealed], summary="Seal many subjects' fields in one call")
async def seal_batch(batch: Batch[SealItem], who: Caller, keep: Keep) -> Batch[Sealed]:
    principal = _require(who, Scope.GDPR_SEAL)
    out = []
    for item in batch.items:
        subject_id, sealed = await keep.seal(principal, item.tenant, item.subject_id, item.fields)
        out.append(Sealed(subject_id=subject_id, sealed=sealed))
    return Batch[Sealed](items=out)


def _ask(item: RevealItem) -> RevealAsk:
    return RevealAsk(item.tenant, item.subject_id, item.purpose, item.action.kind, item.action.id, item.sealed)


@router.post(
    "/reveal", response_model=Revealed, summary="Open sealed fields, if policy allows; always audited",
    responses={401: {"description": "No valid token"}, 403: {"description": "Policy refuses"},
               410: {"description": "Key destroyed"}, 422: {"description": "Sealed field altered"}},
)
async def reveal(item: RevealItem, who: Caller, keep: Keep) -> Revealed:
    fields = await keep.reveal(who, _ask(item))
    return Revealed(subject_id=item.subject_id, fields=fields)


@router.post("/reveal/batch", response_model=Batch[RevealOutcome], summary="Many reveals, each decided and audited alone",
             responses={401: {"description": "No valid token"}, 403: {"description": "The role may not reveal at all"}})
async def reveal_batch(batch: Batch[RevealItem], who: Caller, keep: Keep) -> Batch[RevealOutcome]:
    if isinstance(who, Principal) and not who.has(Scope.GDPR_REVEAL):
        who = AuthError(403, f"role {who.role.value} may not reveal")
    if isinstance(who, AuthError):  # a batch without a valid token or the scope is one failure, audited per item
        for item in batch.items:
            try:
                await keep.reveal(who, _ask(item))
            except Denied:
                pass
        who.audited = True
        raise who
    outcomes = []
    for item in batch.items:
        try:
            fields = await keep.reveal(who, _ask(item))
            outcomes.append(RevealOutcome(status=200, subject_id=item.subject_id, fields=fields))
        except Denied as denied:
            outcomes.append(RevealOutcome(status=denied.status, subject_id=item.subject_id, reason=denied.reason))
    return Batch[RevealOutcome](items=outcomes)


class BlindIndexAsk(BaseModel):
    tenant: TenantId
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


@router.post("/blind-index", response_model=BlindIndexes, summary="Keyed hashes to find earlier contacts (services only)",
             responses={422: {"description": "Not a phone number or e-mail address"}})
async def blind_indexes(ask: BlindIndexAsk, who: Caller, keep: Keep) -> BlindIndexes:
    principal = _require(who, Scope.GDPR_SEAL)
    phone, email = await keep.blind_indexes(principal, ask.tenant, ask.phone, ask.email)
    return BlindIndexes(phone=phone, email=email)


async def purges(request: Request) -> Purges:
    return await request.app.state.gdpr.purges()


Purging = Annotated[Purges, Depends(purges)]


class ErasureAsk(BaseModel):
    subject_kind: SubjectKind = Field(description="Requester, volunteer or partner contact.")


@router.post("/subjects/{subject_id}/erasure", status_code=202, summary="Erase one subject (GDPR art. 17; dpo)")
async def erase(subject_id: UUID, ask: ErasureAsk, who: Caller, purging: Purging) -> dict:
    principal = _require(who, Scope.GDPR_ERASE)
    return await purging.erase_subject(principal, subject_id, ask.subject_kind)


async def access(request: Request) -> SubjectAccess:
    return await request.app.state.gdpr.access()


Exporting = Annotated[SubjectAccess, Depends(access)]


@router.post("/subjects/{subject_id}/access", status_code=202, summary="Start a subject access export (GDPR art. 15; dpo)")
async def request_access(subject_id: UUID, who: Caller, exporting: Exporting) -> dict:
    principal = _require(who, Scope.GDPR_EXPORT)
    return await exporting.request(principal, subject_id)


@router.get("/subject-access/{access_id}", summary="The export as JSON, once every service answered (dpo)",
            responses={202: {"description": "Still waiting for some services"},
                       404: {"description": "No such subject access request"}})
async def export_access(access_id: UUID, who: Caller, exporting: Exporting) -> JSONResponse:
    principal = _require(who, Scope.GDPR_EXPORT)
    export = await exporting.export(principal, access_id)
    return JSONResponse(export, status_code=200 if export["complete"] else 202)


class CrisisEndApproval(BaseModel):
    tenant: TenantId = Field(description="The municipality whose crisis ends; must be the token's.")


@router.post(
    "/crisis-end/approvals", summary="Approve the end of the crisis (crisis lead); the second approval purges",
    responses={202: {"description": "Purge done; report"}, 404: {"description": "Unknown tenant"},
               409: {"description": "Same person again"}, 410: {"description": "Already purged"}},
)
async def approve_crisis_end(ask: CrisisEndApproval, who: Caller, purging: Purging) -> JSONResponse:
    principal = _require(who, Scope.GDPR_PURGE_APPROVE)
    outcome = await purging.approve_crisis_end(principal, ask.tenant)
    return JSONResponse(outcome, status_code=202 if "purge_id" in outcome else 200)


@router.get("/purges/{purge_id}", summary="The report of an erasure or purge: receipts, times, what is missing",
            responses={404: {"description": "No such erasure or purge"}})
async def purge_report(purge_id: UUID, who: Caller, purging: Purging) -> dict:
    # The dpo and the crisis leads who ordered it may read the report.
    lead = isinstance(who, Principal) and who.has(Scope.GDPR_PURGE_APPROVE)
    principal = who if lead else _require(who, Scope.GDPR_AUDIT)
    return await purging.report(principal.tenant, purge_id)


@router.get("/audit", summary="Audit records of the caller's tenant, newest first (dpo)")
async def audit(
    who: Caller, keep: Keep,
    subject_id: UUID | None = None, actor: str | None = None,
    since: dt.datetime | None = None, until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict]:
    principal = _require(who, Scope.GDPR_AUDIT)
    return await keep.audit.query(principal.tenant, subject_id=subject_id, actor=actor, since=since, until=until, limit=limit)


@router.get("/audit/verify", summary="Verify the caller's tenant's audit chain (dpo)")
async def verify(who: Caller, keep: Keep) -> dict:
    principal = _require(who, Scope.GDPR_AUDIT)
    report = await keep.audit.verify(principal.tenant)
    return {"tenant": report.tenant, "records": report.records, "intact": report.intact,
            "first_broken_seq": report.first_broken_seq, "problem": report.problem}
