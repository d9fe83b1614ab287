"""Matching's HTTP: the volunteer's offer page behind a signed link, and the coordinators' JSON view of a request's offers.

Each offer's link reaches the volunteer by e-mail (helpt_matching.messages); a coordinator also sees
it in `GET /api/v1/matching/requests/{id}/offers`, e.g. to read it out to a volunteer on the phone.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Annotated, Any
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse

from helpt_contracts.roles import Role, Scope
from helpt_platform.auth import AuthError
from helpt_platform.keys import by_ref
from helpt_matching.links import ForgedLink, LapsedLink
from helpt_matching.offers import MESSAGES, Answer, Outcome, Status

__all__ = ["router"]

router = APIRouter()
PAGES = {200: {"description": "The offer and what became of the answer"},
         403: {"description": "Not a link matching signed (forged or altered)"},
         409: {"description": "The offer was taken, expired or already answered: nothing changed"},
         422: {"description": "An answer other than accept, decline or done"}}


def _page(title: str, message: str, status: int, offer: dict[str, Any] | None = None, token: str | None = None) -> HTMLResponse:
    details = ""
    if offer is not None:
        details = (f"<dl><dt>Task</dt><dd>{html.escape(offer['task'])}</dd>"
                   f"<dt>Distance</dt><dd>{offer['distance_km']:.1f} km</dd>"
                   f"<dt>Answer before</dt><dd>{offer['expires_at'].strftime('%Y-%m-%d %H:%M')} UTC</dd></dl>")
    forms = ""
    if token and offer is not None and offer["status"] in (Status.OPEN, Status.ACCEPTED):
        actions = [("accept", "Accept"), ("decline", "Decline")] if offer["status"] == Status.OPEN else [("done", "Mark as done")]
        forms = "".join(f'<form method="post" action="/m/{html.escape(token)}"><input type="hidden" name="action" '
                        f'value="{a}"><button type="submit">{label}</button></form>' for a, label in actions)
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)} — Helpt</title></head>'
            f'<body><main><h1>{html.escape(title)}</h1><p role="status">{html.escape(message)}</p>{details}{forms}</main></body></html>')
    return HTMLResponse(body, status_code=status)


def _link(request: Request, token: str):
    try:
        return request.app.state.links().read(token, dt.datetime.now(dt.UTC)), None
    except ForgedLink:
        return None, _page("Link not valid", "This link is not valid. Please use the link exactly as you received it.", 403)
    except LapsedLink:
        return None, _page("Link expired", "This link has expired; the offer is no longer open.", 409)


@router.get("/m/{token}", tags=["volunteer"], response_class=HTMLResponse, responses=PAGES,
            summary="A volunteer's offer: what is asked, and accept / decline (or done, once accepted)")
async def offer_page(request: Request, token: str) -> HTMLResponse:
    link, refused = _link(request, token)
    if refused:
        return refused
    offer = await request.app.state.matcher().offer(link.tenant, link.ident)
    if offer is None:
        return _page("Offer not available", "This offer is no longer available.", 409)
    return _page("An offer of help", _status_text(offer), 200, offer, token)


@router.post("/m/{token}", tags=["volunteer"], response_class=HTMLResponse, responses=PAGES,
             summary="Answer an offer: action=accept, decline or done (form-encoded)")
async def answer_offer(request: Request, token: str) -> HTMLResponse:
    link, refused = _link(request, token)
    if refused:
        return refused
    raw = (await request.body())[:1000].decode("utf-8", "replace")
    try:
        answer = Answer(parse_qs(raw).get("action", [""])[0])
    except ValueError:
        return _page("Unknown answer", "Please choose accept, decline or done.", 422)
    matcher = request.app.state.matcher()
    outcome: Outcome | None = await matcher.answer(link.tenant, link.ident, answer, dt.datetime.now(dt.UTC))
    if outcome is None:
        return _page("Offer not available", "This offer is no longer available.", 409)
    offer = await matcher.offer(link.tenant, link.ident)
    return _page("Thank you" if outcome.ok else "Nothing changed", outcome.message, 200 if outcome.ok else 409, offer, token)


def _status_text(offer: dict[str, Any]) -> str:
    return MESSAGES[Status(offer["status"])]


@router.get("/api/v1/matching/requests/{request_id}/offers", tags=["coordinator"],
            responses={401: {"description": "No valid token"}, 403: {"description": "Not a coordinator of this municipality"}},
            summary="A request's offers with their links (role coordinator), e.g. to read one out to a volunteer on the phone")
async def request_offers(request: Request, request_id: UUID,
                         authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    who = request.app.state.token_verifier().verify(authorization)
    if who.role is not Role.COORDINATOR or not who.has(Scope.MATCHING_READ):
        raise AuthError(403, f"role {who.role.value} may not see offers")
    if who.tenant not in request.app.state.settings.tenant_ids:
        raise AuthError(403, "this service does not serve the token's municipality")
    matcher = request.app.state.matcher()
    links, base, now = request.app.state.links(), request.app.state.settings.public_url.rstrip("/"), dt.datetime.now(dt.UTC)
    offers = [o async for o in matcher.offers.find(by_ref("request_id", request_id, tenant=who.tenant)).sort("created_at", 1)]
    return {"request_id": str(request_id), "matched": await matcher.matched(request_id), "offers": [
        {"match_id": str(o["_id"]), "volunteer_id": str(o["volunteer_id"]), "round": o["round"], "status": o["status"],
         "task": o["task"], "distance_km": o["distance_km"], "expires_at": o["expires_at"].isoformat(),
         "link": f"{base}/m/{links.token(who.tenant, o['_id'], now)}"} for o in offers]}

