"""What every screener page needs: the signed-in screener, per-language templates, readable words for codes.

Sign-in takes a screener's bearer token once and keeps it in an HttpOnly, SameSite=Strict cookie
(as intake's console does; production puts the city's OpenID Connect sign-in in front of it).
The reveal passes that same token to gdpr, so gdpr decides and audits in the screener's name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from helpt_contracts.roles import Scope
from helpt_platform.auth import Principal
from helpt_platform.staff_session import token_holder
from helpt_screening.domain import ALLOWED, Action
from helpt_screening.i18n import N_, languages, translations

__all__ = ["COOKIE", "Problem", "SignedIn", "not_found", "problem_page", "render", "signed_in", "verify"]

COOKIE = "helpt_screener_token"


@dataclass(frozen=True)
class Problem:
    """A field's problem, in English (translated where it is shown)."""

    message: str
    kwargs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedIn:
    who: Principal
    token: str


STATES = {"open": N_("waiting for a decision"), "information-requested": N_("information requested"),
          "approved": N_("approved"), "rejected": N_("rejected"), "suspended": N_("suspended"),
          "withdrawn": N_("withdrawn by the volunteer")}
ACTIONS = {"registered": N_("registered"), "updated": N_("details changed"), "withdrawn": N_("withdrew"),
           "approve": N_("approved"), "reject": N_("rejected"), "ask-for-information": N_("asked for information"),
           "suspend": N_("suspended"), "reverse": N_("reversed the decision"),
           "guidelines-confirmed": N_("confirmed the guidelines")}
DECISIONS = {Action.APPROVE: N_("Approve"), Action.REJECT: N_("Reject"),
             Action.ASK_FOR_INFORMATION: N_("Ask for information")}
REASON_LEGENDS = {Action.APPROVE: N_("Reason to approve"), Action.REJECT: N_("Reason to reject"),
                  Action.ASK_FOR_INFORMATION: N_("Reason to ask for information"),
                  Action.SUSPEND: N_("Reason to suspend"), Action.REVERSE: N_("Reason to reverse")}
REASONS = {"identity-verified": N_("Identity verified"), "interview-ok": N_("Interview went well"),
           "references-ok": N_("References are good"), "incomplete-information": N_("Information is incomplete"),
           "duplicate-registration": N_("Registered twice"), "does-not-meet-profile": N_("Does not fit the vacancy"),
           "safety-concern": N_("Safety concern"), "complaint-received": N_("A complaint was received"),
           "decision-reversed": N_("The decision was wrong"), "other": N_("Other (explain in the note)")}
FLAGS = {"repeat-registration": N_("Registered before"), "no-contact": N_("No phone number or e-mail address"),
         "implausible-contact": N_("Contact details look wrong"), "under-age": N_("May be too young"),
         "missing-competence": N_("Lacks a required competence"), "unknown-vacancy": N_("Unknown vacancy")}
FIELDS = {"name": N_("Name"), "phone": N_("Phone number"), "email": N_("E-mail address"), "note": N_("Note")}


def reasons_for(action: Action) -> list[str]:
    """The reason codes that fit `action`, in the list's own order ("other" last)."""
    return [code for code in REASONS if code in {r.value for r in ALLOWED[action].reasons}]


def when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@cache
def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(request: Request, lang: str, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in `lang`; never cached, since a page may hold revealed contact details."""
    rest = request.url.path.split("/", 2)[2] if request.url.path.count("/") >= 2 else ""
    context.setdefault("errors", {})
    html = _environment(lang).get_template(template).render(
        lang=lang, languages=languages(), path_rest=rest, when=when, states=STATES, actions=ACTIONS,
        reasons=REASONS, flags=FLAGS, fields=FIELDS, **context)
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
                        N_("There is no such page or case. It may have been erased; start again from the queue."),
                        signed_in=verify(request, request.cookies.get(COOKIE)) is not None)


def verify(request: Request, token: str | None) -> SignedIn | None:
    """The screener a token names, if this service serves their municipality; else None."""
    who = token_holder(request.app.state.token_verifier(), token, lambda who: (
        who.has(Scope.SCREENING_READ) and who.has(Scope.SCREENING_DECIDE)
        and who.tenant in request.app.state.settings.tenant_ids))
    if who is None or token is None:
        return None
    return SignedIn(who, token)


def signed_in(request: Request, lang: str) -> SignedIn | Response:
    """The signed-in screener, or the page to show instead (404 for an unknown language, else sign-in)."""
    if lang not in languages():
        return not_found(request)
    found = verify(request, request.cookies.get(COOKIE))
    return found or RedirectResponse(f"/{lang}/screening/sign-in", status_code=303)
