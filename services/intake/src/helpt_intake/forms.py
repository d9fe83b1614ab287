"""The public forms: what they ask, and how what a person typed becomes a request or an offer.

A form is read into `FormData` (every value as typed, so a form that comes back shows all of it
again) and checked field by field. Each problem is an English message marked with `N_` for the
catalogues and translated when the page is rendered, so it reaches the person in their language.
Only a form without problems becomes the API's own model (`HelpRequestIn` / `VolunteerIn`), and
from there takes the same road as the JSON API.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import phonenumbers

from helpt_intake.api import Contact, HelpRequestIn, VolunteerIn
from helpt_intake.catalogue import Catalogue

__all__ = [
    "COMPETENCES",
    "DAY_PARTS",
    "HONEYPOT",
    "SPOKEN_LANGUAGES",
    "WEEKDAYS",
    "FormData",
    "check_help_request",
    "check_offer",
    "parse_form",
]


def N_(message: str) -> str:  # noqa: N802 — the gettext convention for "translate later"
    return message


HONEYPOT = "homepage"
"""A field people never see; software that fills in every field fills it in."""

SPOKEN_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("nl", "Nederlands"), ("fr", "Français"), ("en", "English"), ("de", "Deutsch"), ("ar", "العربية"),
    ("tr", "Türkçe"), ("pl", "Polski"), ("es", "Español"), ("uk", "Українська"), ("ro", "Română"),
)
"""Languages a person can tick, each named in itself."""

COMPETENCES: tuple[tuple[str, str], ...] = (
    ("driving-licence", N_("I have a driving licence and can use a car")),
    ("first-aid", N_("I have a first-aid certificate")),
    ("care-experience", N_("I have experience in care or nursing")),
    ("digital-skills", N_("I can help someone with a computer, tablet or smartphone")),
)

WEEKDAYS: tuple[str, ...] = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                             N_("Saturday"), N_("Sunday"))
DAY_PARTS: tuple[tuple[str, str, dt.time, dt.time], ...] = (
    ("morning", N_("morning"), dt.time(9), dt.time(12)),
    ("afternoon", N_("afternoon"), dt.time(13), dt.time(17)),
    ("evening", N_("evening"), dt.time(18), dt.time(21)),
)
DISTANCES_KM = (1, 2, 5, 10, 20)
TASKS_PER_WEEK = (1, 2, 3, 5, 7)

_LIMITS = {"name": 200, "phone": 40, "email": 200, "address": 300, "note": 2000, "postcode": 10}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Problem:
    """One problem with one field: an English message for the catalogues and its parameters."""

    message: str
    params: tuple[tuple[str, object], ...] = ()

    @property
    def kwargs(self) -> dict[str, object]:
        """The parameters, for the templates' `_(problem.message, **problem.kwargs)`."""
        return dict(self.params)


Errors = dict[str, Problem]


@dataclass
class FormData:
    """What a person typed, as typed: single values and the ticked boxes of each group."""

    values: dict[str, str] = field(default_factory=dict)
    ticked: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def boxes(self, name: str) -> list[str]:
        return self.ticked.get(name, [])


def parse_form(body: bytes) -> FormData:
    """An urlencoded form body; text is trimmed, and undecodable bytes cannot break it."""
    raw = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=200)
    form = FormData()
    for name, values in raw.items():
        form.values[name] = values[0].strip()
        form.ticked[name] = [v.strip() for v in values if v.strip()]
    return form


@dataclass
class Checked:
    """The outcome of checking a form: a model to submit, or the problems per field."""

    errors: Errors
    model: HelpRequestIn | VolunteerIn | None = None


def _contact(form: FormData, region: str, errors: Errors, *, address: bool) -> Contact | None:
    for name, limit in _LIMITS.items():
        if len(form.get(name)) > limit:
            errors[name] = Problem(N_("Keep this shorter: at most %(limit)s characters"), (("limit", limit),))
    if not form.get("name"):
        errors.setdefault("name", Problem(N_("Enter a name, so the volunteer knows whom to ask for")))
    phone, email = form.get("phone"), form.get("email")
    if phone and "phone" not in errors:
        try:
            possible = phonenumbers.is_possible_number(phonenumbers.parse(phone, region))
        except phonenumbers.NumberParseException:
            possible = False
        if not possible:
            errors["phone"] = Problem(N_("Enter a phone number like 0470 12 34 56 or 016 27 27 72"))
    if email and "email" not in errors and not _EMAIL.match(email):
        errors["email"] = Problem(N_("Enter an e-mail address like name@example.org"))
    if not phone and not email:
        errors["phone"] = Problem(N_("Give a phone number or an e-mail address, so we can reach you"))
    if {"name", "phone", "email", "address", "note"} & errors.keys():
        return None
    return Contact(name=form.get("name"), phone=phone or None, email=email or None,
                   address=(form.get("address") or None) if address else None, note=form.get("note") or None)


def _common(form: FormData, postcode_pattern: str, errors: Errors) -> list[str]:
    if form.get(HONEYPOT):
        errors[HONEYPOT] = Problem(N_("Leave the field “Leave this empty” empty"))
    if not re.match(postcode_pattern, form.get("postcode")):
        errors["postcode"] = Problem(N_("Enter the postcode of 4 digits, like 3000"))
    known = {code for code, _ in SPOKEN_LANGUAGES}
    languages = [lang for lang in form.boxes("languages") if lang in known]
    if not languages:
        errors["languages"] = Problem(N_("Choose at least one language"))
    if form.get("consent") != "yes":
        errors["consent"] = Problem(N_("Tick the box to agree with the privacy notice; without it we cannot take your message"))
    return languages


def check_help_request(form: FormData, catalogue: Catalogue, *, region: str, postcode_pattern: str) -> Checked:
    """The "I need help" form."""
    errors: Errors = {}
    task = form.get("task")
    if not any(v.code == task and not v.collective for v in catalogue.vacancies):
        errors["task"] = Problem(N_("Choose what you need help with"))
    languages = _common(form, postcode_pattern, errors)
    contact = _contact(form, region, errors, address=True)
    if errors or contact is None:
        return Checked(errors)
    return Checked(errors, HelpRequestIn(
        task=task, postcode=form.get("postcode"), languages=languages, consent=True, contact=contact,
        urgency="urgent" if form.get("urgency") == "urgent" else "normal",
        on_behalf_of_another=form.get("for_whom") == "other",
    ))


def availability(form: FormData) -> list[dict]:
    """The ticked day parts as weekly slots: 'slot-0-morning' is Monday 9:00–12:00."""
    parts = {key: (start, end) for key, _, start, end in DAY_PARTS}
    slots = []
    for value in form.boxes("availability"):
        day, _, part = value.partition("-")
        if day.isdigit() and int(day) < len(WEEKDAYS) and part in parts:
            slots.append({"weekday": int(day), "start": parts[part][0], "end": parts[part][1]})
    return slots


def check_offer(form: FormData, catalogue: Catalogue, *, region: str, postcode_pattern: str) -> Checked:
    """The offer form of one vacancy (other tasks may be ticked too)."""
    errors: Errors = {}
    tasks = [code for code in form.boxes("tasks") if catalogue.has(code)]
    if not tasks:
        errors["tasks"] = Problem(N_("Choose at least one task you would like to do"))
    languages = _common(form, postcode_pattern, errors)
    contact = _contact(form, region, errors, address=False)
    distance = int(form.get("max_distance_km")) if form.get("max_distance_km").isdigit() else 5
    per_week = int(form.get("max_tasks_per_week")) if form.get("max_tasks_per_week").isdigit() else 2
    if errors or contact is None:
        return Checked(errors)
    competences = [code for code, _ in COMPETENCES if code in form.boxes("competences")]
    return Checked(errors, VolunteerIn(
        tasks=tasks, postcode=form.get("postcode"), languages=languages, consent=True, contact=contact,
        max_distance_km=distance if distance in DISTANCES_KM else 5,
        max_tasks_per_week=per_week if per_week in TASKS_PER_WEEK else 2,
        availability=availability(form), competences=competences, is_adult=form.get("is_adult") == "yes",
    ))
