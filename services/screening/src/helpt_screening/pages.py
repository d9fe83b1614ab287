"""The screener pages: sign-in, the queue by need, a case with its reveal and its decision (server-rendered, no JavaScript).

They call `ScreeningDesk` as the JSON API does. After a decision the screener lands on the next case
of the queue, with what was decided and whether it still waits for publication (the outbox), so a
queue is worked through without going back to it. No page shows personal data except the contact
details a screener asks gdpr to reveal, on the answer to that request only.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from helpt_contracts.events import ScreeningReason
from helpt_platform.auth import Refusal
from helpt_platform.staff_session import end_session, posted_token, start_session
from helpt_screening.desk import CaseDetail, Revealed, ScreeningDesk
from helpt_screening.domain import ALLOWED, OPEN, Action, State
from helpt_screening.i18n import N_, languages, translations
from helpt_screening.web import (
    COOKIE, DECISIONS, REASON_LEGENDS, REASONS, Problem, SignedIn, not_found, problem_page, reasons_for, render, signed_in, verify,
)

__all__ = ["screener_pages"]

screener_pages = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 16 * 1024
NOTE_LENGTH = 2000


def _desk(request: Request) -> ScreeningDesk:
    return request.app.state.desk()


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            break
    return {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}


def _case_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


@screener_pages.get("/{lang}/screening")
async def without_slash(request: Request, lang: str) -> Response:
    return RedirectResponse(f"/{lang}/screening/", status_code=308) if lang in languages() else not_found(request)


@screener_pages.get("/{lang}/screening/sign-in")
async def sign_in_form(request: Request, lang: str) -> Response:
    if lang not in languages():
        return not_found(request)
    return render(request, lang, "sign_in.html", title=translations(lang).gettext("Sign in"))


@screener_pages.post("/{lang}/screening/sign-in")
async def sign_in(request: Request, lang: str) -> Response:
    if lang not in languages():
        return not_found(request)
    title = translations(lang).gettext("Sign in")
    token = await posted_token(request)
    if not token:
        return render(request, lang, "sign_in.html", 400, title=title, errors={"token": Problem(N_("Enter your access token"))})
    if verify(request, token) is None:
        return render(request, lang, "sign_in.html", 401, title=title, errors={"token": Problem(N_(
            "This token is not valid, has expired, or is not a screener's of this municipality"))})
    return start_session(RedirectResponse(f"/{lang}/screening/", status_code=303), request, COOKIE, token)


@screener_pages.post("/{lang}/screening/sign-out")
async def sign_out(lang: str) -> Response:
    return end_session(RedirectResponse(f"/{lang if lang in languages() else 'nl'}/screening/sign-in", status_code=303),
                       COOKIE)


async def _decided(request: Request, me: SignedIn, raw: str | None) -> CaseDetail | None:
    """The case just decided, to confirm what became of it (and whether it still waits for publication)."""
    case_id = _case_id(raw or "")
    if case_id is None:
        return None
    try:
        detail = await _desk(request).case(me.who, case_id)
    except Refusal:
        return None
    return detail if detail.history and detail.history[-1].by == me.who.sub else None


@screener_pages.get("/{lang}/screening/")
async def queue(request: Request, lang: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    cases = await _desk(request).queue(me.who)
    return render(request, lang, "queue.html", title=translations(lang).gettext("Screening queue"), signed_in=True,
                  cases=cases, decided=await _decided(request, me, request.query_params.get("decided")))


async def _case_page(request: Request, lang: str, me: SignedIn, case_id: uuid.UUID, status: int = 200,
                     **context: Any) -> Response:
    try:
        case = await _desk(request).case(me.who, case_id)
    except Refusal as refusal:
        if refusal.status == 404:
            return not_found(request, lang)
        raise
    state = State(case.state)
    gettext = translations(lang).gettext
    context.setdefault("form", {})

    def reasons(action: Action) -> tuple[str, str, list[tuple[str, str]]]:
        return action.value, gettext(REASON_LEGENDS[action]), [(code, gettext(REASONS[code])) for code in reasons_for(action)]

    decisions = [a for a in DECISIONS if state in ALLOWED[a].source]
    return render(
        request, lang, "case.html", status, title=gettext("Case %(case)s") % {"case": str(case.id)[:8]},
        signed_in=True, case=case, is_open=state in OPEN,
        decision_options=[(a.value, gettext(DECISIONS[a])) for a in decisions], decisions=[reasons(a) for a in decisions],
        afterwards=[reasons(a) for a in (Action.SUSPEND, Action.REVERSE) if state in ALLOWED[a].source],
        **context)


@screener_pages.get("/{lang}/screening/cases/{raw_id}")
async def case_page(request: Request, lang: str, raw_id: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    if (case_id := _case_id(raw_id)) is None:
        return not_found(request, lang)
    return await _case_page(request, lang, me, case_id,
                            decided=await _decided(request, me, request.query_params.get("decided")))


@screener_pages.post("/{lang}/screening/cases/{raw_id}/reveal")
async def reveal(request: Request, lang: str, raw_id: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    if (case_id := _case_id(raw_id)) is None:
        return not_found(request, lang)
    try:
        revealed: Revealed = await _desk(request).reveal(me.who, me.token, case_id)
    except Refusal as refusal:
        if refusal.status == 404:
            return not_found(request, lang)
        message = {409: N_("This case is closed: contact details are shown only while a case is open."),
                   403: N_("gdpr did not allow you to see these contact details. The attempt is recorded; ask the data protection officer if you need them.")
                   }.get(refusal.status, N_("gdpr cannot be reached right now. Try again in a minute."))
        return await _case_page(request, lang, me, case_id, refusal.status if refusal.status in (403, 409) else 503,
                                reveal_problem=message)
    return await _case_page(request, lang, me, case_id, revealed=revealed)


def _check(form: dict[str, str], actions: list[Action]) -> tuple[Action | None, str | None, dict[str, Problem]]:
    """The decision, its reason and its problems; each problem keyed by the field it belongs to."""
    errors: dict[str, Problem] = {}
    action = next((a for a in actions if a.value == form.get("decision")), None)
    if action is None:
        errors["decision"] = Problem(N_("Choose a decision"))
    field = f"reason-{action.value if action else actions[0].value}"
    reason = form.get(field, "").strip() or None
    if action is not None and reason is None:
        errors[field] = Problem(N_("Choose a reason for this decision"))
    elif action is not None and reason not in reasons_for(action):
        errors[field] = Problem(N_("This reason does not fit this decision: choose one of the reasons listed here"))
    if len(form.get("note", "")) > NOTE_LENGTH:
        errors["note"] = Problem(N_("Shorten the note to at most %(n)s characters"), {"n": str(NOTE_LENGTH)})
    return action, reason, errors


async def _next_case(request: Request, me: SignedIn, before: list[uuid.UUID], decided: uuid.UUID) -> uuid.UUID | None:
    """The case that followed the decided one in the queue, else the first still waiting."""
    now = [c.id for c in await _desk(request).queue(me.who) if c.id != decided]
    after = before[before.index(decided) + 1:] if decided in before else []
    return next((c for c in after if c in now), now[0] if now else None)


@screener_pages.post("/{lang}/screening/cases/{raw_id}/{kind}")
async def decide(request: Request, lang: str, raw_id: str, kind: str) -> Response:
    me = signed_in(request, lang)
    if isinstance(me, Response):
        return me
    if (case_id := _case_id(raw_id)) is None or kind not in ("decision", "suspend", "reverse"):
        return not_found(request, lang)
    form = await _form(request)
    actions = list(DECISIONS) if kind == "decision" else [Action(kind)]
    if kind != "decision":
        form["decision"] = kind
    action, reason, errors = _check(form, actions)
    if kind != "decision" and "note" in errors:
        errors[f"note-{kind}"] = errors.pop("note")
    if errors or action is None or reason is None:
        return await _case_page(request, lang, me, case_id, 422, form=form, errors=errors, focus=kind)
    desk = _desk(request)
    before = [c.id for c in await desk.queue(me.who)]
    try:
        await desk.decide(me.who, case_id, action, ScreeningReason(reason), form.get("note", "").strip() or None)
    except Refusal as refusal:
        if refusal.status == 404:
            return not_found(request, lang)
        if refusal.status != 409:
            raise
        return problem_page(request, lang, 409, N_("This case was decided already"),
                            N_("Another decision on this case was taken first (perhaps a second click, or a colleague). It stands; nothing else was recorded."),
                            signed_in=True, case_link=f"/{lang}/screening/cases/{case_id}")
    if kind != "decision":
        return RedirectResponse(f"/{lang}/screening/cases/{case_id}?decided={case_id}", status_code=303)
    following = await _next_case(request, me, before, case_id)
    target = f"/{lang}/screening/cases/{following}" if following else f"/{lang}/screening/"
    return RedirectResponse(f"{target}?decided={case_id}", status_code=303)


@screener_pages.get("/{lang}/screening/{rest:path}")
async def anything_else(request: Request, lang: str, rest: str) -> Response:
    """Registered last: a screener page that does not exist, in the language of its address."""
    return not_found(request)
