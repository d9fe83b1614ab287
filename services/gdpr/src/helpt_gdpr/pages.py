"""The data protection officer's pages: sign in with a token, then read and filter the audit log.

Server-rendered, no JavaScript. The token travels once in a form and then lives in an HttpOnly,
SameSite=Strict cookie; production puts an OpenID Connect sign-in in front of the same cookie.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from helpt_contracts.roles import Scope
from helpt_platform.auth import Principal
from helpt_platform.staff_session import end_session, posted_token, start_session, token_holder

__all__ = ["pages"]

COOKIE = "helpt_staff_token"
pages = APIRouter(prefix="/dpo", include_in_schema=False)
_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
FILTERS = (
    ("subject_id", "Person (id)", "The person's id, e.g. from an erasure or access request.", "text"),
    ("actor", "Who", "A staff member's or service's id.", "text"),
    ("since", "From (UTC)", "Date, or date and time: 2026-03-17 or 2026-03-17T09:00.", "text"),
    ("until", "Until (UTC)", "Records before this moment.", "text"),
)


def _render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("errors", {})
    return HTMLResponse(_templates.get_template(template).render(**context), status_code=status)


def _principal(request: Request, token: str | None) -> Principal | None:
    return token_holder(request.app.state.gdpr.verifier, token, lambda who: who.has(Scope.GDPR_AUDIT))


@pages.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/dpo/audit", status_code=303)


@pages.get("/sign-in")
async def sign_in_form() -> HTMLResponse:
    return _render("sign_in.html", title="Sign in")


@pages.post("/sign-in")
async def sign_in(request: Request) -> Response:
    token = await posted_token(request)
    if not token:
        return _render("sign_in.html", 400, title="Sign in", errors={"token": "Enter your access token"})
    if _principal(request, token) is None:
        return _render("sign_in.html", 401, title="Sign in",
                       errors={"token": "This token is not valid, has expired, or is not a data protection officer's"})
    return start_session(RedirectResponse("/dpo/audit", status_code=303), request, COOKIE, token, path="/dpo")


@pages.post("/sign-out")
async def sign_out() -> RedirectResponse:
    return end_session(RedirectResponse("/dpo/sign-in", status_code=303), COOKIE, path="/dpo")


def _parse_filters(raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if raw.get("subject_id"):
        try:
            parsed["subject_id"] = UUID(raw["subject_id"])
        except ValueError:
            errors["subject_id"] = "Enter a person's id like 3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f"
    if raw.get("actor"):
        parsed["actor"] = raw["actor"][:200]
    for name in ("since", "until"):
        if raw.get(name):
            try:
                moment = dt.datetime.fromisoformat(raw[name])
                parsed[name] = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
            except ValueError:
                errors[name] = f"Enter the {'start' if name == 'since' else 'end'} as a date like 2026-03-17 or 2026-03-17T09:00"
    return parsed, errors


@pages.get("/audit")
async def audit_page(request: Request) -> Response:
    who = _principal(request, request.cookies.get(COOKIE))
    if who is None:
        return RedirectResponse("/dpo/sign-in", status_code=303)
    raw = {name: request.query_params.get(name, "").strip() for name, *_ in FILTERS}
    filters, errors = _parse_filters(raw)
    keeper = await request.app.state.gdpr.keeper()
    records = [] if errors else await keeper.audit.query(who.tenant, limit=500, **filters)
    chain = await keeper.audit.verify(who.tenant)
    return _render("audit.html", 400 if errors else 200, title="Audit log", signed_in=True, tenant=who.tenant,
                   chain=chain, fields=FILTERS, values=raw, errors=errors, records=records)
