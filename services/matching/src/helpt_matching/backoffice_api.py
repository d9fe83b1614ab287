"""The back office as JSON (role coordinator): the same lists and the same actions as the pages.

Every route checks the token before it reads the body, so a partner, operator or screener gets 403
whatever they send; a bad body is a 422 that names the problem, never the value sent.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from helpt_contracts.roles import Role, Scope
from helpt_platform.auth import AuthError, Principal, Refusal
from helpt_matching.backoffice import Backoffice
from helpt_matching.backoffice_decisions import Sent

__all__ = ["backoffice_api", "coordinator"]

backoffice_api = APIRouter(prefix="/api/v1/matching/backoffice", tags=["coordinator back office"], responses={
    401: {"description": "No valid token"}, 403: {"description": "Not a coordinator of a municipality this service serves"}})
MAX_BODY = 8 * 1024


def coordinator(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The coordinator calling; AuthError 401 without a valid token, 403 for any other role or municipality."""
    who = request.app.state.token_verifier().verify(authorization)
    if who.role is not Role.COORDINATOR or not (who.has(Scope.MATCHING_READ) and who.has(Scope.MATCHING_OVERRIDE)):
        raise AuthError(403, f"role {who.role.value} may not use the back office")
    if who.tenant not in request.app.state.settings.tenant_ids:
        raise AuthError(403, "this service does not serve the token's municipality")
    return who


Coordinator = Annotated[Principal, Depends(coordinator)]


def _office(request: Request) -> Backoffice:
    return request.app.state.backoffice()


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Refusal(413, "the body is too large")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise Refusal(422, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refusal(422, "the body must be a JSON object")
    return body


def _uuid(value: Any, name: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise Refusal(422, f"{name} must be a UUID") from None


def _match(match: dict[str, Any] | None) -> dict[str, Any] | None:
    if match is None:
        return None
    return {"match_id": str(match["_id"]), "request_id": str(match["request_id"]), "volunteer_id": str(match["volunteer_id"]),
            "status": match["status"], "organisation": match.get("organisation")}


def _sent(sent: Sent) -> JSONResponse:
    return JSONResponse({"queued": sent.queued, "already_asked_today": sent.already,
                         "at": sent.at.isoformat() if sent.at else None}, status_code=202 if sent.queued else 200)


def _plain(value: Any) -> Any:
    return jsonable_encoder(value, custom_encoder={UUID: str, dt.datetime: lambda d: d.isoformat()})


@backoffice_api.get("/requests", summary="Open requests: offers per round, eligible volunteers now, matched or not")
async def open_requests(request: Request, who: Coordinator) -> list[dict[str, Any]]:
    return _plain(await _office(request).open_requests(who.tenant))


@backoffice_api.get("/requests/stale", summary="Open requests without a match for longer than HELPT_MATCHING_STALE_AFTER_HOURS")
async def stale(request: Request, who: Coordinator) -> list[dict[str, Any]]:
    return _plain(await _office(request).stale(who.tenant, dt.datetime.now(dt.UTC)))


@backoffice_api.get("/requests/{request_id}", summary="One request: its offers, the volunteers it may be matched with, its audit trail",
                    responses={404: {"description": "No such request"}})
async def one_request(request: Request, who: Coordinator, request_id: UUID) -> dict[str, Any]:
    found = await _office(request).request(who.tenant, request_id)
    if found is None:
        raise Refusal(404, "no such request")
    return _plain(found)


@backoffice_api.get("/pools", summary="Eligible volunteers per area × task × language (and how many lack the guidelines)")
async def pools(request: Request, who: Coordinator) -> list[dict[str, Any]]:
    return _plain(await _office(request).pools(who.tenant))


@backoffice_api.get("/volunteers/idle", summary="Eligible volunteers offered nothing for HELPT_MATCHING_IDLE_AFTER_DAYS")
async def idle(request: Request, who: Coordinator) -> list[dict[str, Any]]:
    return _plain(await _office(request).idle(who.tenant, dt.datetime.now(dt.UTC)))


@backoffice_api.get("/partners", summary="Per partner organisation: matches by outcome, volunteers contacted and when, quota use")
async def partners(request: Request, who: Coordinator) -> list[dict[str, Any]]:
    return _plain(await _office(request).partners(who.tenant))


@backoffice_api.post("/requests/{request_id}/match", status_code=201,
                     summary='Manual match: {"volunteer_id": …, "reason": …}; the volunteer gets the request as an accepted match',
                     responses={404: {"description": "Unknown request or volunteer"},
                                409: {"description": "Matched already, closed, or the volunteer may not be offered it"},
                                422: {"description": "volunteer_id not a UUID, reason missing or over 500 characters"}})
async def manual_match(request: Request, who: Coordinator, request_id: UUID) -> dict[str, Any]:
    body = await _body(request)
    match = await _office(request).decisions.manual_match(who, request_id, _uuid(body.get("volunteer_id"), "volunteer_id"),
                                                str(body.get("reason") or ""), dt.datetime.now(dt.UTC))
    return _match(match)  # type: ignore[return-value]


@backoffice_api.post("/matches/{match_id}/override",
                     summary='Override: {"reason": …, "volunteer_id": optional replacement}; the accepted match is called off',
                     responses={404: {"description": "Unknown match or replacement"},
                                409: {"description": "Not an accepted match, or the replacement may not be offered the request"},
                                422: {"description": "reason missing or over 500 characters; volunteer_id not a UUID"}})
async def override(request: Request, who: Coordinator, match_id: UUID) -> dict[str, Any]:
    body = await _body(request)
    replacement = _uuid(body["volunteer_id"], "volunteer_id") if body.get("volunteer_id") else None
    ended, new = await _office(request).decisions.override(who, match_id, str(body.get("reason") or ""), replacement,
                                                           dt.datetime.now(dt.UTC))
    return {"cancelled": _match(ended), "replacement": _match(new)}


@backoffice_api.post("/volunteers/{volunteer_id}/still-needed",
                     summary="Tell an idle volunteer they are still needed (once a day: a second call queues nothing)",
                     responses={202: {"description": "Queued"}, 200: {"description": "Asked already today, or no address"},
                                404: {"description": "No such eligible volunteer"}})
async def still_needed(request: Request, who: Coordinator, volunteer_id: UUID) -> JSONResponse:
    return _sent(await _office(request).decisions.still_needed(who, volunteer_id, dt.datetime.now(dt.UTC)))


@backoffice_api.post("/requests/{request_id}/remind",
                     summary="Remind the requester of an open request (once a day: a second call queues nothing)",
                     responses={202: {"description": "Queued"}, 200: {"description": "Asked already today, or no address"},
                                404: {"description": "No such request"}, 409: {"description": "The request is closed"}})
async def remind(request: Request, who: Coordinator, request_id: UUID) -> JSONResponse:
    return _sent(await _office(request).decisions.remind(who, request_id, dt.datetime.now(dt.UTC)))
