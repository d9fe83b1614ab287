"""What every back-office page needs: the signed-in coordinator, per-language templates, readable words for codes.

Sign-in is screening's: a coordinator's bearer token pasted once, kept in an HttpOnly, SameSite=Strict
cookie (`helpt_platform.staff_session`). SameSite=Strict keeps the cookie off requests other sites start;
a form post whose Origin is another site is refused as well (403), for browsers that send one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from helpt_contracts.roles import Role, Scope
from helpt_platform.auth import AuthError, Principal
from helpt_matching.backoffice_decisions import REASON_LENGTH
from helpt_matching.i18n import N_, languages, translations

__all__ = ["COOKIE", "Problem", "form", "holder", "not_found", "problem_page", "render", "signed_in"]

COOKIE = "helpt_coordinator_token"
MAX_FORM_BYTES = 16 * 1024

STATUSES = {"open": N_("waiting for an answer"), "accepted": N_("accepted"), "declined": N_("declined"),
            "expired": N_("expired"), "taken": N_("taken by another"), "completed": N_("done"),
            "withdrawn": N_("withdrawn"), "cancelled": N_("called off")}
ACTIONS = {"manual-match": N_("manual match"), "override": N_("override (match called off)")}
URGENCIES = {"urgent": N_("urgent"), "normal": N_("normal")}


@dataclass(frozen=True)
class Problem:
    """A field's problem, in English (translated where it is shown)."""

    message: str
    kwargs: dict[str, str] = field(default_factory=dict)


def when(moment: dt.datetime | None) -> str:
    if moment is None or moment.year < 1971:
        return "—"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _waited(lang: str, since: dt.datetime, now: dt.datetime) -> str:
    if since.year < 1971:
        return "—"
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    gettext = translations(lang).gettext
    if days:
        return gettext("%(d)s d %(h)s h") % {"d": days, "h": hours}
    return gettext("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


@cache
def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(request: Request, lang: str, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A back-office page in `lang`, never cached."""
    rest = request.url.path.split("/", 2)[2] if request.url.path.count("/") >= 2 else ""
    now = dt.datetime.now(dt.UTC)
    context.setdefault("errors", {})
    context.setdefault("signed_in", False)
    html = _environment(lang).get_template(template).render(
        lang=lang, languages=languages(), path_rest=rest, when=when, waited=lambda since: _waited(lang, since, now),
        statuses=STATUSES, actions=ACTIONS, urgencies=URGENCIES, reason_length=REASON_LENGTH, short=lambda i: str(i)[:8],
        section=context.pop("section", ""), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    return response


def problem_page(request: Request, lang: str, status: int, heading: str, message: str, **context: Any) -> HTMLResponse:
    gettext = translations(lang).gettext
    return render(request, lang, "problem.html", status, title=gettext(heading), heading=gettext(heading),
                  message=gettext(message), **context)


def not_found(request: Request, lang: str | None = None) -> HTMLResponse:
    first = request.url.path.split("/")[1] if request.url.path.count("/") >= 2 else ""
    lang = lang or (first if first in languages() else languages()[0])
    return problem_page(request, lang, 404, N_("Page not found"),
                        N_("There is no such page, request or volunteer. It may have been erased; start again from the overview."),
                        signed_in=isinstance(holder(request, request.cookies.get(COOKIE)), Principal))


def holder(request: Request, token: str | None) -> Principal | bool | None:
    """The coordinator a token names; False for a valid token of someone else (403); None for no valid token."""
    if not token:
        return None
    try:
        who = request.app.state.token_verifier().verify(f"Bearer {token}")
    except AuthError:
        return None
    allowed = (who.role is Role.COORDINATOR and who.has(Scope.MATCHING_READ) and who.has(Scope.MATCHING_OVERRIDE)
               and who.tenant in request.app.state.settings.tenant_ids)
    return who if allowed else False


def forbidden(request: Request, lang: str) -> HTMLResponse:
    return problem_page(request, lang, 403, N_("Not for your role"),
                        N_("The back office is for the help desk's coordinators of this municipality. Sign in with a coordinator's token."),
                        signed_in=True)


def signed_in(request: Request, lang: str) -> Principal | Response:
    """The signed-in coordinator, or the page to show instead: 404 (language), sign-in, or 403 (another role, another site)."""
    if lang not in languages():
        return not_found(request)
    found = holder(request, request.cookies.get(COOKIE))
    if found is None:
        return RedirectResponse(f"/{lang}/backoffice/sign-in", status_code=303)
    if found is False or (request.method == "POST" and not same_origin(request)):
        return forbidden(request, lang)
    return found  # type: ignore[return-value]


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return True  # no Origin header (older browsers, curl): SameSite=Strict alone keeps other sites' posts out
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            break
    return {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
