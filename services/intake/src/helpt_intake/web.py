"""The public pages: home with the vacancy tiles, the offer and "I need help" forms, confirmation,
privacy notice and accessibility statement — in every language that has a catalogue.

Server-rendered and free of JavaScript. A form that has problems comes back with everything the
person typed, each problem next to its field and in a summary at the top. A form that is fine
takes the same road as the JSON API (`take_help_request` / `take_offer`), with a per-form
idempotency key so a double click or a resend gives the same reference, and then redirects to
the confirmation (a reload does not send it again).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from helpt_contracts.types import Channel
from helpt_intake.api import Channelled, take_help_request, take_offer
from helpt_intake.catalogue import Catalogue
from helpt_intake.forms import (
    COMPETENCES,
    DAY_PARTS,
    DISTANCES_KM,
    HONEYPOT,
    SPOKEN_LANGUAGES,
    TASKS_PER_WEEK,
    WEEKDAYS,
    Checked,
    Errors,
    FormData,
    N_,
    Problem,
    check_help_request,
    check_offer,
    parse_form,
)
from helpt_intake.i18n import languages, negotiate, translations
from helpt_intake.settings import IntakeSettings
from helpt_intake.tenancy import base_of, profile_of, tenant_of
from helpt_platform.auth import Refusal
from helpt_platform.limits import RateLimiter, client_address
from helpt_platform.logs import get_logger

__all__ = ["RateLimiter", "catalogue_for", "form_page", "not_found", "offered", "pages", "read_form", "render", "take_form",
           "unknown_municipality"]

log = get_logger(__name__)
pages = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 64 * 1024
_REFERENCE = re.compile(r"^[HV]-[A-Z2-9]{6}$")


@cache
def language_name(code: str) -> str:
    """A language named in itself, as its speakers would look for it: 'Nederlands', 'Français'."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


@cache
def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader([Path(__file__).parent / "templates" / "public", Path(__file__).parent / "templates"]), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def offered(request: Request) -> tuple[str, ...]:
    """The languages of the request's municipality's pages that we have texts in, its first language first."""
    return tuple(code for code in profile_of(request).languages if code in languages()) or languages()


def here(request: Request) -> str:
    """This page's address as the browser knows it (with the `/t/<tenant>` it came by): where its form posts to."""
    return base_of(request) + request.url.path


def render(request: Request, lang: str, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in `lang`, with what every page needs (language links, the municipality's name and phone)."""
    settings: IntakeSettings = request.app.state.settings
    profile = profile_of(request)
    rest = request.url.path.split("/", 2)[2] if request.url.path.count("/") >= 2 else ""
    context.setdefault("errors", {})
    context.setdefault("form", FormData())
    html = _environment(lang).get_template(template).render(
        lang=lang, language_names=[(code, language_name(code)) for code in offered(request)], path_rest=rest,
        base=base_of(request), city=profile.name, help_phone=profile.help_phone, notice_version=settings.privacy_notice_version,
        honeypot=HONEYPOT, text_of=lambda vacancy: text_of(vacancy, lang), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Language"] = lang
    return response


def _client(request: Request) -> str:
    return client_address(request.scope, trust_forwarded_for=request.app.state.settings.trust_forwarded_for)


async def catalogue_for(request: Request, tenant: str | None = None) -> Catalogue:
    """The published catalogue of the pages' municipality (or the signed-in operator's)."""
    return await request.app.state.catalogues().published(tenant or tenant_of(request))


def text_of(vacancy: Any, lang: str) -> Any:
    """A vacancy's texts in `lang`, or in its catalogue's first language while a translation is missing."""
    return vacancy.texts.get(lang) or next(iter(vacancy.texts.values()))


def _problem(request: Request, lang: str, status: int, heading: str, message: str) -> HTMLResponse:
    gettext = translations(lang).gettext
    return render(request, lang, "problem.html", status, title=gettext(heading), heading=gettext(heading),
                  message=gettext(message))


def _language_of_address(request: Request) -> str:
    first = request.url.path.split("/")[1] if request.url.path.count("/") >= 2 else ""
    return first if first in offered(request) else negotiate(request.headers.get("accept-language"), offered(request))


def not_found(request: Request) -> HTMLResponse:
    return _problem(request, _language_of_address(request), 404, N_("Page not found"),
                    N_("This page does not exist. Check the address, or start again from the home page."))


def unknown_municipality(request: Request) -> HTMLResponse:
    """An address under /t/<tenant>/ of a municipality not served here: a 404 in the visitor's language."""
    return _problem(request, _language_of_address(request), 404, N_("Municipality not found"),
                    N_("This website does not serve the municipality in this address. Check the address, "
                       "or start again from the home page."))


@pages.get("/")
async def root(request: Request) -> RedirectResponse:
    """The home page in the visitor's language (Accept-Language), Dutch when we have none of theirs."""
    lang = negotiate(request.headers.get("accept-language"), offered(request))
    response = RedirectResponse(f"{base_of(request)}/{lang}/", status_code=307)
    response.headers["Vary"] = "Accept-Language"
    return response


@pages.get("/{lang}/")
async def home(request: Request, lang: str) -> Response:
    if lang not in offered(request):
        return not_found(request)
    catalogue = await catalogue_for(request)
    gettext = translations(lang).gettext
    return render(request, lang, "home.html", title=gettext("Home"),
                  individual=[v for v in catalogue.vacancies if not v.collective],
                  collective=[v for v in catalogue.vacancies if v.collective])


@pages.get("/{lang}")
async def home_without_slash(request: Request, lang: str) -> Response:
    if lang not in offered(request):
        return not_found(request)
    return RedirectResponse(f"{base_of(request)}/{lang}/", status_code=308)


@pages.get("/{lang}/privacy")
async def privacy(request: Request, lang: str) -> Response:
    if lang not in offered(request):
        return not_found(request)
    return render(request, lang, "privacy.html", title=translations(lang).gettext("Privacy notice"))


@pages.get("/{lang}/accessibility")
async def accessibility(request: Request, lang: str) -> Response:
    if lang not in offered(request):
        return not_found(request)
    return render(request, lang, "accessibility.html", title=translations(lang).gettext("Accessibility statement"))


# --- the forms -------------------------------------------------------------------------------

def form_options(lang: str, catalogue: Catalogue) -> dict[str, Any]:
    """The choices on the forms, labelled in `lang` (languages are named in themselves)."""
    gettext = translations(lang).gettext
    return {
        "language_options": [(code, name, code) for code, name in SPOKEN_LANGUAGES],
        "competence_options": [(code, gettext(label), None) for code, label in COMPETENCES],
        "slot_options": [(f"{day}-{key}", f"{gettext(WEEKDAYS[day])} {gettext(label)}", None)
                         for day in range(len(WEEKDAYS)) for key, label, *_ in DAY_PARTS],
        "distance_options": [(km, f"{km} km") for km in DISTANCES_KM],
        "tasks_per_week_options": [(n, str(n)) for n in TASKS_PER_WEEK],
        "whom_options": [("self", gettext("I need help myself"), None), ("other", gettext("I ask for someone else"), None)],
        "urgency_options": [("normal", gettext("In the coming days"), None), ("urgent", gettext("Urgently, today"), None)],
        "request_task_options": [(v.code, text_of(v, lang).title, None) for v in catalogue.vacancies if not v.collective],
        "offer_task_options": [(v.code, text_of(v, lang).title, None) for v in catalogue.vacancies],
    }


async def read_form(request: Request, lang: str) -> FormData | HTMLResponse:
    """The posted form, or the page that says why it cannot be read."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return _problem(request, lang, 415, N_("This form could not be read"),
                        N_("Please send the form from its page on this website."))
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        return _problem(request, lang, 413, N_("This form is too long"),
                        N_("Please shorten the longest texts and send the form again."))
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _problem(request, lang, 413, N_("This form is too long"),
                            N_("Please shorten the longest texts and send the form again."))
    return parse_form(body)


FormTaker = Callable[..., Any]


async def take_form(request: Request, lang: str, form: FormData, checked: Checked, take: FormTaker,
                    show: Callable[[int, Errors], Response], *, rate_limited: bool,
                    via: Channelled | None = None) -> tuple[str | None, Response | None]:
    """Submit a checked form; (reference, None) when taken, else (None, the form again with why)."""
    if checked.errors or checked.model is None:
        return None, show(422, checked.errors)
    phone = profile_of(request).help_phone
    if rate_limited and not request.app.state.form_limiter.allow(_client(request)):
        log.warning("form rate limit reached")
        return None, show(429, {"_rate": Problem(N_(
            "Many forms were sent from this connection in a short time. Please wait a few minutes and send "
            "it again, or call %(phone)s."), (("phone", phone),))})
    via = via or Channelled(Channel.WEB, tenant_of(request))
    key = form.get("submission")
    key = key if re.fullmatch(r"[0-9a-f-]{36}", key) else None
    try:
        # The page's language is the form's (web and console alike): the statistics count per language.
        model = checked.model if checked.model.form_language else checked.model.model_copy(update={"form_language": lang})
        accepted = await take(request, model, request.app.state.intake(), key, via)
    except Refusal as refusal:
        if refusal.status == 409:  # a double click still under way, or a mail someone else handled
            message = N_("This was sent already, or is being sent right now. Check before you send it again.")
        elif refusal.status == 410:  # gdpr destroyed the municipality's key: its crisis has ended
            message = N_("The crisis is over here, so this help desk takes no more requests or offers. "
                         "For other help, call %(phone)s.")
        elif refusal.status < 500:
            message = N_("Some details could not be accepted. Check the phone number and e-mail address, or call %(phone)s.")
        else:
            message = N_("We cannot take your message right now. Please try again in a few minutes, or call %(phone)s.")
        return None, show(refusal.status if refusal.status in (409, 410, 503) else 422 if refusal.status < 500 else 503,
                          {"_service": Problem(message, (("phone", phone),))})
    return accepted.reference, None


def form_page(request: Request, lang: str, template: str, title: str, action: str, form: FormData,
               catalogue: Catalogue, **context: Any) -> Callable[[int, Errors], Response]:
    def show(status: int, errors: Errors) -> Response:
        return render(request, lang, template, status, title=title, action=action, form=form, errors=errors,
                      submission=form.get("submission") or str(uuid.uuid4()), **form_options(lang, catalogue), **context)

    return show


@pages.get("/{lang}/offer/{code}")
async def offer_form(request: Request, lang: str, code: str) -> Response:
    catalogue = await catalogue_for(request)
    if lang not in offered(request) or not (vacancy := catalogue.get(code)):
        return not_found(request)
    title = translations(lang).gettext("Offer to help: %(task)s") % {"task": text_of(vacancy, lang).title}
    show = form_page(request, lang, "offer.html", title, here(request), FormData(), catalogue, vacancy=vacancy)
    return show(200, {})


@pages.post("/{lang}/offer/{code}")
async def send_offer(request: Request, lang: str, code: str) -> Response:
    catalogue = await catalogue_for(request)
    if lang not in offered(request) or not (vacancy := catalogue.get(code)):
        return not_found(request)
    form = await read_form(request, lang)
    if isinstance(form, Response):
        return form
    settings: IntakeSettings = request.app.state.settings
    title = translations(lang).gettext("Offer to help: %(task)s") % {"task": text_of(vacancy, lang).title}
    show = form_page(request, lang, "offer.html", title, here(request), form, catalogue, vacancy=vacancy)
    checked = check_offer(form, catalogue, region=settings.phone_region, postcode_pattern=settings.postcode_pattern)
    reference, page = await take_form(request, lang, form, checked, take_offer, show, rate_limited=True)
    return page or RedirectResponse(f"{base_of(request)}/{lang}/received/{reference}", status_code=303)


@pages.get("/{lang}/help")
async def help_form(request: Request, lang: str) -> Response:
    if lang not in offered(request):
        return not_found(request)
    catalogue = await catalogue_for(request)
    show = form_page(request, lang, "help.html", translations(lang).gettext("I need help"), here(request),
                      FormData(), catalogue)
    return show(200, {})


@pages.post("/{lang}/help")
async def send_help_request(request: Request, lang: str) -> Response:
    if lang not in offered(request):
        return not_found(request)
    form = await read_form(request, lang)
    if isinstance(form, Response):
        return form
    catalogue = await catalogue_for(request)
    settings: IntakeSettings = request.app.state.settings
    show = form_page(request, lang, "help.html", translations(lang).gettext("I need help"), here(request),
                      form, catalogue)
    checked = check_help_request(form, catalogue, region=settings.phone_region, postcode_pattern=settings.postcode_pattern)
    reference, page = await take_form(request, lang, form, checked, take_help_request, show, rate_limited=True)
    return page or RedirectResponse(f"{base_of(request)}/{lang}/received/{reference}", status_code=303)


@pages.get("/{lang}/received/{reference}")
async def received(request: Request, lang: str, reference: str) -> Response:
    if lang not in offered(request) or not _REFERENCE.match(reference):
        return not_found(request)
    gettext = translations(lang).gettext
    kind = "request" if reference.startswith("H") else "volunteer"
    return render(request, lang, "received.html", title=gettext("Received"), reference=reference, kind=kind)


@pages.get("/{lang}/{rest:path}")
async def anything_else(request: Request, lang: str, rest: str) -> Response:
    """Registered last: a page that does not exist, in the language of its address."""
    if lang not in languages():
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return not_found(request)
