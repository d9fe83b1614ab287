"""The coordinators' back office pages (server-rendered, no JavaScript; every action a form, then POST-redirect-GET).

They call `Backoffice` as the JSON API does. No page shows personal data: requests and volunteers
appear by reference or id, with task, postcode, languages and statuses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from helpt_platform.auth import Principal, Refusal
from helpt_platform.staff_session import end_session, posted_token, start_session
from helpt_matching.backoffice import Backoffice
from helpt_matching.backoffice_decisions import REASON_LENGTH
from helpt_matching.charts import stats_charts
from helpt_matching.backoffice_web import COOKIE, Problem, form, holder, not_found, problem_page, render, signed_in
from helpt_matching.i18n import N_, languages, translations

__all__ = ["backoffice_pages"]

backoffice_pages = APIRouter(include_in_schema=False)
DONE = {"matched": N_("The request is matched: the volunteer has it as an accepted match."),
        "overridden": N_("The match is called off. The request is open again and will be offered to other volunteers."),
        "overridden-and-matched": N_("The match is called off and the request is matched with the volunteer you chose."),
        "reminded": N_("The reminder to the requester is queued."),
        "told": N_("The message “you are still needed” is queued."),
        "already": N_("This was asked already today; nothing more was sent."),
        "no-address": N_("Nothing was sent: there is no address to send it to.")}


def _office(request: Request) -> Backoffice:
    return request.app.state.backoffice()


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw or "")
    except ValueError:
        return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@backoffice_pages.get("/{lang}/backoffice")
async def without_slash(request: Request, lang: str) -> Response:
    return RedirectResponse(f"/{lang}/backoffice/", status_code=308) if lang in languages() else not_found(request)


@backoffice_pages.get("/{lang}/backoffice/sign-in")
async def sign_in_form(request: Request, lang: str) -> Response:
    if lang not in languages():
        return not_found(request)
    return render(request, lang, "sign_in.html", title=translations(lang).gettext("Sign in"))


@backoffice_pages.post("/{lang}/backoffice/sign-in")
async def sign_in(request: Request, lang: str) -> Response:
    if lang not in languages():
        return not_found(request)
    title = translations(lang).gettext("Sign in")
    token = await posted_token(request)
    if not token:
        return render(request, lang, "sign_in.html", 400, title=title, errors={"token": Problem(N_("Enter your access token"))})
    found = holder(request, token)
    if not isinstance(found, Principal):
        return render(request, lang, "sign_in.html", 401 if found is None else 403, title=title, errors={"token": Problem(
            N_("This token is not valid, has expired, or is not a coordinator's of this municipality"))})
    return start_session(RedirectResponse(f"/{lang}/backoffice/", status_code=303), request, COOKIE, token)


@backoffice_pages.post("/{lang}/backoffice/sign-out")
async def sign_out(lang: str) -> Response:
    return end_session(RedirectResponse(f"/{lang if lang in languages() else 'nl'}/backoffice/sign-in", status_code=303), COOKIE)


@backoffice_pages.get("/{lang}/backoffice/")
async def overview(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    office, now = _office(request), _now()
    waiting = await office.open_requests(me.tenant)
    stale = await office.stale(me.tenant, now)
    return render(request, lang, "overview.html", title=translations(lang).gettext("Back office"), signed_in=True, section="overview",
                  open_count=len(waiting), unmatched=sum(not w.matched for w in waiting),
                  nobody=sum(not w.matched and w.eligible == 0 for w in waiting), stale_count=len(stale),
                  idle_count=len(await office.idle(me.tenant, now)), idle_days=request.app.state.settings.idle_after_days,
                  stale_hours=request.app.state.settings.stale_after_hours)


@backoffice_pages.get("/{lang}/backoffice/requests")
async def open_requests(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    return render(request, lang, "requests.html", title=translations(lang).gettext("Open requests"), signed_in=True,
                  section="requests", rows=await _office(request).open_requests(me.tenant), stale=False)


@backoffice_pages.get("/{lang}/backoffice/stale")
async def stale_requests(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    settings = request.app.state.settings
    return render(request, lang, "requests.html", title=translations(lang).gettext("Stale requests"), signed_in=True,
                  section="stale", rows=await _office(request).stale(me.tenant, _now()), stale=True,
                  stale_hours=settings.stale_after_hours, done=DONE.get(request.query_params.get("done", "")),
                  done_id=request.query_params.get("id"))


async def _request_page(request: Request, lang: str, me: Principal, request_id: uuid.UUID, status: int = 200,
                        **context: Any) -> Response:
    found = await _office(request).request(me.tenant, request_id)
    if found is None:
        return not_found(request, lang)
    context.setdefault("form", {})
    return render(request, lang, "request.html", status, signed_in=True, section="requests",
                  title=translations(lang).gettext("Request %(reference)s") % {"reference": found["request"].get("reference", "—")},
                  found=found, stale_hours=request.app.state.settings.stale_after_hours,
                  done=DONE.get(request.query_params.get("done", "")), **context)


@backoffice_pages.get("/{lang}/backoffice/requests/{raw_id}")
async def one_request(request: Request, lang: str, raw_id: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    if (request_id := _uuid(raw_id)) is None:
        return not_found(request, lang)
    return await _request_page(request, lang, me, request_id)


def _reason_problem(reason: str, field: str) -> dict[str, Problem]:
    if not reason.strip():
        return {field: Problem(N_("Give the reason for this decision"))}
    if len(reason.strip()) > REASON_LENGTH:
        return {field: Problem(N_("Shorten the reason to at most %(n)s characters"), {"n": str(REASON_LENGTH)})}
    return {}


def _conflict(request: Request, lang: str, refusal: Refusal, back: str) -> Response:
    if refusal.status == 404:
        return not_found(request, lang)
    if refusal.status != 409:
        raise refusal
    return problem_page(request, lang, 409, N_("Nothing was changed"),
                        N_("The request changed first (perhaps a second click, a colleague, or a volunteer's answer), "
                           "or the volunteer may no longer be offered it. Look at the request as it stands now."),
                        signed_in=True, back_link=back)


@backoffice_pages.post("/{lang}/backoffice/requests/{raw_id}/{kind}")
async def decide(request: Request, lang: str, raw_id: str, kind: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    if (request_id := _uuid(raw_id)) is None or kind not in ("match", "override", "remind"):
        return not_found(request, lang)
    fields = await form(request)
    office, page = _office(request), f"/{lang}/backoffice/requests/{request_id}"
    try:
        if kind == "remind":
            sent = await office.decisions.remind(me, request_id, _now())
            outcome = "reminded" if sent.queued else "already" if sent.already else "no-address"
            back = f"/{lang}/backoffice/stale?done={outcome}&id={request_id}" if fields.get("from") == "stale" else f"{page}?done={outcome}"
            return RedirectResponse(back, status_code=303)
        prefix = "" if kind == "match" else "override-"
        errors = _reason_problem(fields.get(f"{prefix}reason", ""), f"{prefix}reason")
        chosen = _uuid(fields.get(f"{prefix}volunteer")) if fields.get(f"{prefix}volunteer") else None
        if kind == "match" and chosen is None:
            errors = {"volunteer": Problem(N_("Choose the volunteer to match"))} | errors
        if errors:
            return await _request_page(request, lang, me, request_id, 422, form=fields, errors=errors, focus=kind)
        if kind == "match":
            await office.decisions.manual_match(me, request_id, chosen, fields["reason"], _now())  # type: ignore[arg-type]
            return RedirectResponse(f"{page}?done=matched", status_code=303)
        match_id = _uuid(fields.get("match"))
        if match_id is None:
            return not_found(request, lang)
        await office.decisions.override(me, match_id, fields["override-reason"], chosen, _now())
        return RedirectResponse(f"{page}?done={'overridden-and-matched' if chosen else 'overridden'}", status_code=303)
    except Refusal as refusal:
        return _conflict(request, lang, refusal, page)


@backoffice_pages.get("/{lang}/backoffice/pools")
async def pools(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    return render(request, lang, "pools.html", title=translations(lang).gettext("Pools"), signed_in=True, section="pools",
                  rows=await _office(request).pools(me.tenant))


@backoffice_pages.get("/{lang}/backoffice/idle")
async def idle(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    return render(request, lang, "idle.html", title=translations(lang).gettext("Idle volunteers"), signed_in=True, section="idle",
                  rows=await _office(request).idle(me.tenant, _now()), days=request.app.state.settings.idle_after_days,
                  done=DONE.get(request.query_params.get("done", "")), done_id=request.query_params.get("id"))


@backoffice_pages.post("/{lang}/backoffice/volunteers/{raw_id}/still-needed")
async def still_needed(request: Request, lang: str, raw_id: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    if (volunteer_id := _uuid(raw_id)) is None:
        return not_found(request, lang)
    try:
        sent = await _office(request).decisions.still_needed(me, volunteer_id, _now())
    except Refusal as refusal:
        return _conflict(request, lang, refusal, f"/{lang}/backoffice/idle")
    outcome = "told" if sent.queued else "already" if sent.already else "no-address"
    return RedirectResponse(f"/{lang}/backoffice/idle?done={outcome}&id={volunteer_id}", status_code=303)


@backoffice_pages.get("/{lang}/backoffice/statistics")
async def statistics(request: Request, lang: str) -> Response:
    """The seeds' table and how matching goes, as charts with their numbers beside them (helpt_matching.charts)."""
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    gettext = translations(lang).gettext
    days = max(1, round(request.app.state.settings.idle_after_days))
    report = await request.app.state.statistics().report(me.tenant, idle_days=days)
    return render(request, lang, "statistics.html", title=gettext("Statistics"), signed_in=True, section="statistics",
                  report=report, charts=stats_charts(report, gettext), duration=lambda seconds: _duration(seconds, gettext))


def _duration(seconds: float | None, gettext) -> str:  # noqa: ANN001 - a gettext function
    """Seconds as a person reads a waiting time: "—", "under a minute", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 1:
        return gettext("under a minute")
    if minutes < 60:
        return gettext("%(m)s min") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return gettext("%(h)s h %(m)02d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return gettext("%(d)s d %(h)s h") % {"d": days, "h": hours}


@backoffice_pages.get("/{lang}/backoffice/partners")
async def partners(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    return render(request, lang, "partners.html", title=translations(lang).gettext("Partners"), signed_in=True, section="partners",
                  rows=await _office(request).partners(me.tenant))


@backoffice_pages.api_route("/{lang}/backoffice/{rest:path}", methods=["GET", "POST"])
async def anything_else(request: Request, lang: str, rest: str) -> Response:
    """Registered last: a back-office page that does not exist, in the language of its address."""
    me = signed_in(request, lang)
    return me if isinstance(me, Response) else not_found(request, lang)
