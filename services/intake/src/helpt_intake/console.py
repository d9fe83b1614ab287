"""The phone console: what a call-centre operator uses during and after a call.

The same forms as the public pages, marked channel=phone and entered by the signed-in operator;
a search for earlier contacts by phone number or e-mail address (through gdpr's blind index, so
nothing is searched in plaintext); the operator's own cases with where they stand now; and the
call-back list of requests that have waited too long. No page shows personal data: a case is
its reference, task, postcode and status.

Sign-in takes an operator's bearer token once and keeps it in an HttpOnly, SameSite=Strict
cookie; production puts the city's OpenID Connect sign-in in front of the same cookie.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from helpt_contracts.events import (
    HelpRequestCancelled,
    MailOutcome,
    RequestCancellationReason,
    VolunteerWithdrawn,
    WithdrawalReason,
)
from helpt_contracts.roles import Scope
from helpt_contracts.types import Channel
from helpt_intake.api import Channelled, take_help_request, take_offer
from helpt_intake.mail_api import MailSummary, OpenedMail, by_mail, confirm_mail, read_mail
from helpt_intake.forms import N_, FormData, Problem, check_help_request, check_offer
from helpt_intake.i18n import languages, translations
from helpt_intake.settings import IntakeSettings
from helpt_intake.tenancy import profile_of, sign_in_as
from helpt_intake.web import catalogue_for, text_of, form_page, not_found, read_form, render, take_form
from helpt_platform.auth import Principal, Refusal
from helpt_platform.staff_session import end_session, posted_token, start_session, token_holder

__all__ = ["console"]

COOKIE = "helpt_operator_token"
console = APIRouter(include_in_schema=False)
_REFERENCE = re.compile(r"^[HV]-[A-Z2-9]{6}$")


def operator(request: Request) -> Principal | None:
    """The signed-in operator, or None (no cookie, a bad or expired token, another role)."""
    who = _staff(request, request.cookies.get(COOKIE))
    return who if who and _is_operator(who) else None


def coordinator(request: Request) -> Principal | None:
    """The signed-in coordinator (who may edit the catalogue), or None."""
    who = _staff(request, request.cookies.get(COOKIE))
    return who if who and who.has(Scope.CATALOGUE_EDIT) else None


def _is_operator(who: Principal) -> bool:
    return who.has(Scope.INTAKE_LOOKUP) and who.has(Scope.INTAKE_SUBMIT)


def _staff(request: Request, token: str | None) -> Principal | None:
    """Whoever a token names, if intake's staff pages are theirs: an operator or a coordinator."""
    return token_holder(request.app.state.token_verifier(), token,
                        lambda who: _is_operator(who) or who.has(Scope.CATALOGUE_EDIT))


def _sign_in_first(lang: str) -> RedirectResponse:
    return RedirectResponse(f"/{lang}/console/sign-in", status_code=303)


def _signed_in(request: Request, lang: str, whom: Any) -> Principal | Response:
    """The signed-in staff member `whom` finds, or the page to show instead (404 language, sign-in)."""
    if lang not in languages():
        return not_found(request)
    who = whom(request)
    if who is None:
        return _sign_in_first(lang)
    sign_in_as(request, who.tenant)  # the pages show the staff member's municipality, whatever the address
    return who


def _signed_in_operator(request: Request, lang: str) -> Principal | Response:
    return _signed_in(request, lang, operator)


def _signed_in_coordinator(request: Request, lang: str) -> Principal | Response:
    return _signed_in(request, lang, coordinator)


def _staff_page(request: Request, lang: str, template: str, status: int = 200, **context: Any) -> Response:
    return render(request, lang, template, status, staff=True, **context)


@console.get("/{lang}/console/")
async def console_home(request: Request, lang: str) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    return _staff_page(request, lang, "console/home.html", title=translations(lang).gettext("Phone console"),
                       operator=who.sub)


@console.get("/{lang}/console")
async def console_without_slash(request: Request, lang: str) -> Response:
    return RedirectResponse(f"/{lang}/console/", status_code=308) if lang in languages() else not_found(request)


@console.get("/{lang}/console/sign-in")
async def sign_in_form(request: Request, lang: str) -> Response:
    if lang not in languages():
        return not_found(request)
    return render(request, lang, "console/sign_in.html", title=translations(lang).gettext("Sign in"))


@console.post("/{lang}/console/sign-in")
async def sign_in(request: Request, lang: str) -> Response:
    if lang not in languages():
        return not_found(request)
    title = translations(lang).gettext("Sign in")
    token = await posted_token(request)
    if not token:
        return render(request, lang, "console/sign_in.html", 400, title=title,
                      errors={"token": Problem(N_("Enter your access token"))})
    who = _staff(request, token)
    if who is None:
        return render(request, lang, "console/sign_in.html", 401, title=title, errors={"token": Problem(N_(
            "This token is not valid, has expired, or is not a call-centre operator's"))})
    return start_session(RedirectResponse(f"/{lang}/console/" if _is_operator(who) else f"/{lang}/preview/",
                                          status_code=303), request, COOKIE, token)


@console.post("/{lang}/console/sign-out")
async def sign_out(lang: str) -> RedirectResponse:
    return end_session(RedirectResponse(f"/{lang if lang in languages() else 'nl'}/console/sign-in", status_code=303), COOKIE)


# --- taking a call ---------------------------------------------------------------------------

async def _staff_form(request: Request, lang: str, who: Principal, kind: str, initial: FormData, via: Channelled,
                      confirm: Any = None, **context: Any) -> Response:
    """A request or offer form in the console: shown, checked, and taken in with the operator as `via` says.

    `confirm(take)` may wrap the taking (the mail desk claims its mail around it).
    """
    catalogue = await catalogue_for(request, who.tenant)
    gettext = translations(lang).gettext
    template, title = ("help.html", gettext("New request")) if kind == "request" else ("offer.html", gettext("New offer"))
    form = initial
    if request.method != "GET":
        read = await read_form(request, lang)
        if isinstance(read, Response):
            return read
        form = read
    show = form_page(request, lang, template, title, request.url.path, form, catalogue, vacancy=None, staff=True, **context)
    if request.method == "GET":
        return show(200, {})
    settings: IntakeSettings = request.app.state.settings
    check = check_help_request if kind == "request" else check_offer
    checked = check(form, catalogue, region=settings.phone_region, postcode_pattern=settings.postcode_pattern)
    take = take_help_request if kind == "request" else take_offer
    reference, page = await take_form(request, lang, form, checked, confirm(take) if confirm else take, show,
                                      rate_limited=False, via=via)
    return page or RedirectResponse(f"/{lang}/console/received/{reference}", status_code=303)


async def _phone_form(request: Request, lang: str, kind: str) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    by_phone = Channelled(Channel.PHONE, who.tenant, entered_by=who.sub)  # the operator's municipality and name
    return await _staff_form(request, lang, who, kind, FormData(), by_phone)


@console.get("/{lang}/console/help")
@console.post("/{lang}/console/help")
async def phone_request(request: Request, lang: str) -> Response:
    return await _phone_form(request, lang, "request")


@console.get("/{lang}/console/offer")
@console.post("/{lang}/console/offer")
async def phone_offer(request: Request, lang: str) -> Response:
    return await _phone_form(request, lang, "volunteer")


@console.get("/{lang}/console/received/{reference}")
async def taken_in(request: Request, lang: str, reference: str) -> Response:
    if lang not in languages() or not _REFERENCE.match(reference):
        return not_found(request)
    if operator(request) is None:
        return _sign_in_first(lang)
    return _staff_page(request, lang, "console/received.html", title=translations(lang).gettext("Taken in"),
                       reference=reference)


# --- cases -----------------------------------------------------------------------------------

def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _case_context(lang: str, catalogue: Any) -> dict[str, Any]:
    gettext = translations(lang).gettext
    titles = {v.code: text_of(v, lang).title for v in catalogue.vacancies}

    def case_tasks(case: Any) -> str:
        codes = list(getattr(case, "tasks", None) or ([case.task] if getattr(case, "task", None) else []))
        return ", ".join(titles.get(code, code) for code in codes) or "—"

    return {
        "case_tasks": case_tasks, "when": _when,
        "kinds": {"request": gettext("request"), "volunteer": gettext("offer")},
        "statuses": {"received": gettext("waiting for a volunteer"), "offered": gettext("offered to volunteers"),
                     "matched": gettext("matched"), "done": gettext("done"), "cancelled": gettext("cancelled")},
        "channels": {"web": gettext("web"), "phone": gettext("phone"), "email": gettext("e-mail"),
                     "partner": gettext("partner")},
    }


async def _cases_page(request: Request, lang: str, which: str, posted: FormData | None = None) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    gettext = translations(lang).gettext
    book = request.app.state.case_book()
    context = _case_context(lang, await catalogue_for(request, who.tenant))
    if which == "search":
        # Posted, never in the address: a number in a URL ends up in the browser's history and in proxies' logs.
        form = FormData(values={k: (posted.get(k) if posted else "").strip()[:200] for k in ("phone", "email")})
        cases, errors = None, {}
        if form.get("phone") or form.get("email"):
            try:
                cases = await book.search(who.tenant, phone=form.get("phone") or None, email=form.get("email") or None)
            except Refusal as refusal:
                if refusal.status >= 500:
                    raise
                errors = {"phone" if form.get("phone") else "email": Problem(N_(
                    "This is not a phone number or e-mail address we can search for; check it and try again"))}
        return _staff_page(request, lang, "console/cases.html", 422 if errors else 200, title=gettext("Find earlier contacts"),
                           searching=True, form=form, cases=cases, errors=errors, empty=gettext("Nobody with this phone number or e-mail address has contacted us before."),
                           intro=gettext("The number or address is not stored or searched as you type it: gdpr turns it into a keyed fingerprint, and we look for cases with the same fingerprint."),
                           **context)
    if which == "mine":
        cases = await book.entered_by(who.tenant, who.sub)
        return _staff_page(request, lang, "console/cases.html", title=gettext("My cases"), cases=cases,
                           intro=gettext("Everything you took in on the phone, with where it stands now; the newest first."),
                           empty=gettext("You have not taken in any case yet."), **context)
    cases = await book.waiting_too_long(who.tenant, dt.datetime.now(dt.UTC))
    return _staff_page(request, lang, "console/cases.html", title=gettext("Call-back list"), cases=cases,
                       intro=gettext("Requests that have waited too long without a volunteer: urgent ones first, then the oldest. Call the person, and tell the coordinators."),
                       empty=gettext("No request is waiting too long."), **context)


@console.get("/{lang}/console/search")
async def search_form(request: Request, lang: str) -> Response:
    return await _cases_page(request, lang, "search")


@console.post("/{lang}/console/search")
async def search(request: Request, lang: str) -> Response:
    if isinstance(who := _signed_in_operator(request, lang), Response):
        return who
    form = await read_form(request, lang)
    if isinstance(form, Response):
        return form
    return await _cases_page(request, lang, "search", form)


@console.get("/{lang}/console/my-cases")
async def my_cases(request: Request, lang: str) -> Response:
    return await _cases_page(request, lang, "mine")


@console.get("/{lang}/console/call-backs")
async def call_backs(request: Request, lang: str) -> Response:
    return await _cases_page(request, lang, "call-backs")


# --- the mail desk ---------------------------------------------------------------------------

def _mail_problem(request: Request, lang: str, refusal: Refusal) -> Response:
    gettext = translations(lang).gettext
    heading, message = {
        404: (N_("No such mail"), N_("This mail does not exist, or belongs to another municipality.")),
        409: (N_("This mail was already handled"), N_("Someone turned it into a request or an offer, or discarded it.")),
        403: (N_("This mail cannot be opened now"), N_("It may have arrived a moment ago: try again in a few seconds.")),
    }.get(refusal.status, (N_("This mail cannot be opened now"),
                           N_("We cannot take your message right now. Please try again in a few minutes, or call %(phone)s.")))
    phone = profile_of(request).help_phone
    return _staff_page(request, lang, "problem.html", refusal.status if refusal.status < 500 else 503,
                       title=gettext(heading), heading=gettext(heading),
                       message=gettext(message) % {"phone": phone} if "%(phone)s" in message else gettext(message))


@console.get("/{lang}/console/mail")
async def mails(request: Request, lang: str) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    waiting = [MailSummary(**{"id": m["_id"], "received_at": m["received_at"], "size": m.get("size", 0),
                              "attachments": m.get("attachments", 0)})
               for m in await request.app.state.mail_triage.open_mails(who.tenant)]
    return _staff_page(request, lang, "console/mails.html", title=translations(lang).gettext("Mail"), mails=waiting,
                       when=_when)


async def _opened(request: Request, lang: str, mail_id: str) -> tuple[Principal, OpenedMail] | Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    try:
        mail = await read_mail(request.app.state.mail_triage, who, request.cookies[COOKIE], uuid.UUID(mail_id))
    except ValueError:
        return not_found(request)
    except Refusal as refusal:
        return _mail_problem(request, lang, refusal)
    return who, mail


@console.get("/{lang}/console/mail/{mail_id}")
async def mail_page(request: Request, lang: str, mail_id: str) -> Response:
    opened = await _opened(request, lang, mail_id)
    if isinstance(opened, Response):
        return opened
    who, mail = opened
    return _staff_page(request, lang, "console/mail.html", title=translations(lang).gettext("Mail"), mail=mail, when=_when)


async def _mail_form(request: Request, lang: str, mail_id: str, kind: str) -> Response:
    opened = await _opened(request, lang, mail_id)
    if isinstance(opened, Response):
        return opened
    who, mail = opened
    outcome = MailOutcome.REQUEST if kind == "request" else MailOutcome.VOLUNTEER
    desk = request.app.state.mail_triage

    def claiming_the_mail(take: Any) -> Any:
        async def confirm(request: Request, body: Any, _intake: Any, _key: str | None, via: Channelled) -> Any:
            return await confirm_mail(request, desk, mail.id, outcome, take, body, via)

        return confirm

    initial = FormData(values={"name": mail.name or "", "email": mail.email or "", "note": mail.note[:2000]})
    try:
        via = await by_mail(desk, who, mail.id)
    except Refusal as refusal:
        return _mail_problem(request, lang, refusal)
    return await _staff_form(request, lang, who, kind, initial, via, claiming_the_mail, mail=mail, when=_when)


@console.get("/{lang}/console/mail/{mail_id}/help")
@console.post("/{lang}/console/mail/{mail_id}/help")
async def mail_as_request(request: Request, lang: str, mail_id: str) -> Response:
    return await _mail_form(request, lang, mail_id, "request")


@console.get("/{lang}/console/mail/{mail_id}/offer")
@console.post("/{lang}/console/mail/{mail_id}/offer")
async def mail_as_offer(request: Request, lang: str, mail_id: str) -> Response:
    return await _mail_form(request, lang, mail_id, "volunteer")


@console.post("/{lang}/console/mail/{mail_id}/discard")
async def discard_mail(request: Request, lang: str, mail_id: str) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    try:
        await request.app.state.mail_triage.triage(who.tenant, uuid.UUID(mail_id), MailOutcome.DISCARDED)
    except ValueError:
        return not_found(request)
    except Refusal as refusal:
        return _mail_problem(request, lang, refusal)
    return RedirectResponse(f"/{lang}/console/mail", status_code=303)


# --- one case: see it, cancel a request, withdraw an offer -----------------------------------

_CLOSE_REASONS = {
    "request": [("requester-cancelled", N_("The person cancelled it")), ("resolved-elsewhere", N_("Someone else helps already")),
                ("duplicate", N_("It was asked twice")), ("no-longer-needed", N_("Help is no longer needed"))],
    "volunteer": [("volunteer-withdrew", N_("The volunteer stops")), ("inactive", N_("The volunteer cannot be reached"))],
}


async def _case_page(request: Request, lang: str, case_id: str, form: FormData, errors: dict, status: int = 200) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    try:
        case = await request.app.state.case_book().get(who.tenant, uuid.UUID(case_id))
    except ValueError:
        case = None
    if case is None:
        return not_found(request)
    gettext = translations(lang).gettext
    kind = "request" if case.kind == "request" else "volunteer"
    return _staff_page(
        request, lang, "console/case.html", status, title=gettext("Case %(reference)s") % {"reference": case.reference},
        case=case, form=form, errors=errors, closable=case.status not in ("done", "cancelled"),
        close_legend=gettext("Cancel this request: why?") if kind == "request" else gettext("Withdraw this offer: why?"),
        close_button=gettext("Cancel the request") if kind == "request" else gettext("Withdraw the offer"),
        reason_options=[(code, gettext(label), None) for code, label in _CLOSE_REASONS[kind]],
        **_case_context(lang, await catalogue_for(request, who.tenant)))


@console.get("/{lang}/console/case/{case_id}")
async def case_page(request: Request, lang: str, case_id: str) -> Response:
    return await _case_page(request, lang, case_id, FormData(), {})


@console.post("/{lang}/console/case/{case_id}/close")
async def close_case(request: Request, lang: str, case_id: str) -> Response:
    who = _signed_in_operator(request, lang)
    if isinstance(who, Response):
        return who
    form = await read_form(request, lang)
    if isinstance(form, Response):
        return form
    try:
        ident = uuid.UUID(case_id)
    except ValueError:
        return not_found(request)
    case = await request.app.state.case_book().get(who.tenant, ident)
    if case is None:
        return not_found(request)
    kind = "request" if case.kind == "request" else "volunteer"
    if form.get("reason") not in {code for code, _ in _CLOSE_REASONS[kind]}:
        return await _case_page(request, lang, case_id, form, {"reason": Problem(N_("Choose why"))}, 422)
    event = (HelpRequestCancelled(tenant=who.tenant, request_id=ident, reason=RequestCancellationReason(form.get("reason")))
             if kind == "request" else
             VolunteerWithdrawn(tenant=who.tenant, volunteer_id=ident, reason=WithdrawalReason(form.get("reason"))))
    try:
        await request.app.state.intake().close(tenant=who.tenant, case_id=ident, kind=kind, event=event)
    except Refusal as refusal:
        message = (N_("This was sent already, or is being sent right now. Check before you send it again.")
                   if refusal.status == 409 else
                   N_("We cannot take your message right now. Please try again in a few minutes, or call %(phone)s."))
        return await _case_page(request, lang, case_id, form,
                                {"_service": Problem(message, (("phone", profile_of(request).help_phone),))},
                                409 if refusal.status == 409 else 503)
    return RedirectResponse(f"/{lang}/console/case/{case_id}", status_code=303)


# --- the catalogue's draft, previewed as the public will see it (coordinators) --------------

async def _draft_or_page(request: Request, lang: str) -> tuple[Principal, Any, Any] | Response:
    who = _signed_in_coordinator(request, lang)
    if isinstance(who, Response):
        return who
    store = request.app.state.catalogues()
    draft, live = await store.draft(who.tenant), await store.published(who.tenant)
    if draft is None:
        gettext = translations(lang).gettext
        return render(request, lang, "console/preview_none.html", title=gettext("No draft to preview"),
                           message=gettext("There is no draft of the vacancies. A coordinator saves one through the catalogue API; then it shows here."))
    return who, draft, live


@console.get("/{lang}/preview/")
async def preview_home(request: Request, lang: str) -> Response:
    found = await _draft_or_page(request, lang)
    if isinstance(found, Response):
        return found
    _who, draft, live = found
    return render(request, lang, "home.html", title=translations(lang).gettext("Home"), preview=True,
                  draft_version=draft.version, live_version=live.version, offer_base=f"/{lang}/preview/offer",
                  individual=[v for v in draft.vacancies if not v.collective],
                  collective=[v for v in draft.vacancies if v.collective])


@console.get("/{lang}/preview/offer/{code}")
async def preview_offer(request: Request, lang: str, code: str) -> Response:
    found = await _draft_or_page(request, lang)
    if isinstance(found, Response):
        return found
    _who, draft, live = found
    vacancy = draft.get(code)
    if vacancy is None:
        return not_found(request)
    title = translations(lang).gettext("Offer to help: %(task)s") % {"task": text_of(vacancy, lang).title}
    show = form_page(request, lang, "offer.html", title, request.url.path, FormData(), draft, vacancy=vacancy,
                     preview=True, draft_version=draft.version, live_version=live.version)
    return show(200, {})


@console.post("/{lang}/preview/publish")
async def preview_publish(request: Request, lang: str) -> Response:
    who = _signed_in_coordinator(request, lang)
    if isinstance(who, Response):
        return who
    gettext = translations(lang).gettext
    try:
        published = await request.app.state.catalogues().publish(who.tenant, who.sub)
    except Refusal as refusal:
        if refusal.status != 409:
            raise
        return render(request, lang, "console/preview_none.html", 409, title=gettext("No draft to preview"),
                           message=gettext("This draft was published or replaced meanwhile."))
    return render(request, lang, "console/preview_none.html", title=gettext("Published"), published=published.version,
                       message=gettext("The draft is now the live catalogue."))
