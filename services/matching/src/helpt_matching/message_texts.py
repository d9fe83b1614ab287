"""The words of matching's messages, in Dutch, English and French: pure functions, no I/O.

A message is rendered when it is sent, from ids and coarse facts (task, distance, answer-before
time, link); it is never stored rendered. No text greets by name: the address is all a message
needs, so the name is never revealed for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["LANGUAGES", "Kind", "Rendered", "language_for", "render"]


class Kind(StrEnum):
    OFFER = "offer"
    """A volunteer is offered a request (MatchProposed)."""
    TAKEN = "taken"
    """An open offer ended because another volunteer accepted first."""
    WITHDRAWN = "withdrawn"
    """An offer was withdrawn, or an accepted match called off."""
    STILL_NEEDED = "still_needed"
    """A coordinator tells an idle volunteer they are still needed."""
    REMINDER = "reminder"
    """A requester whose request is waiting hears that we are still looking."""


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str
    short: str
    """The SMS version: one or two sentences, the link when there is one."""


_SIGN = {"en": "Helpt — your city's volunteer help desk", "nl": "Helpt — de vrijwilligersbalie van je stad",
         "fr": "Helpt — le guichet des bénévoles de votre ville"}

# kind -> language -> (subject, body, short). Bodies are str.format templates over: task, distance, deadline, link, reference.
_TEXTS: dict[Kind, dict[str, tuple[str, str, str]]] = {
    Kind.OFFER: {
        "en": ("Can you help? {task}",
               "Hello,\n\nSomeone {distance} from you needs help: {task}.\nPlease answer before {deadline}.\n\n"
               "Open this link to read more and to accept or decline:\n{link}\n\n"
               "The first volunteer to accept is matched; we will tell you if someone else was quicker.",
               "Helpt: can you help ({task}, {distance} away)? Answer before {deadline}: {link}"),
        "nl": ("Kun je helpen? {task}",
               "Hallo,\n\nIemand op {distance} van jou heeft hulp nodig: {task}.\nAntwoord alsjeblieft vóór {deadline}.\n\n"
               "Open deze link om meer te lezen en te aanvaarden of te weigeren:\n{link}\n\n"
               "De eerste vrijwilliger die aanvaardt, krijgt de vraag; we laten het je weten als iemand anders sneller was.",
               "Helpt: kun je helpen ({task}, op {distance})? Antwoord vóór {deadline}: {link}"),
        "fr": ("Pouvez-vous aider ? {task}",
               "Bonjour,\n\nUne personne à {distance} de chez vous a besoin d'aide : {task}.\nMerci de répondre avant le {deadline}.\n\n"
               "Ouvrez ce lien pour en savoir plus et pour accepter ou refuser :\n{link}\n\n"
               "Le premier bénévole qui accepte reçoit la demande ; nous vous préviendrons si quelqu'un a été plus rapide.",
               "Helpt : pouvez-vous aider ({task}, à {distance}) ? Répondez avant le {deadline} : {link}"),
    },
    Kind.TAKEN: {
        "en": ("Already taken: {task}",
               "Hello,\n\nAnother volunteer accepted this request first ({task}), so it no longer needs you.\n"
               "Thank you for being ready to help: we will write again when someone near you needs help.",
               "Helpt: another volunteer accepted the request ({task}) first. Thank you all the same."),
        "nl": ("Al opgenomen: {task}",
               "Hallo,\n\nEen andere vrijwilliger heeft deze vraag eerst aanvaard ({task}), dus ze heeft jou niet meer nodig.\n"
               "Bedankt om klaar te staan: we schrijven je opnieuw wanneer iemand in je buurt hulp nodig heeft.",
               "Helpt: een andere vrijwilliger aanvaardde de vraag ({task}) eerst. Toch bedankt."),
        "fr": ("Déjà prise : {task}",
               "Bonjour,\n\nUn autre bénévole a accepté cette demande en premier ({task}) : elle n'a plus besoin de vous.\n"
               "Merci d'être prêt à aider : nous vous écrirons dès que quelqu'un près de chez vous aura besoin d'aide.",
               "Helpt : un autre bénévole a accepté la demande ({task}) en premier. Merci quand même."),
    },
    Kind.WITHDRAWN: {
        "en": ("No longer needed: {task}",
               "Hello,\n\nThe request you were offered ({task}) no longer needs you: it was withdrawn or called off.\n"
               "You do not need to do anything. Thank you for being ready to help.",
               "Helpt: the request ({task}) no longer needs you. Thank you all the same."),
        "nl": ("Niet meer nodig: {task}",
               "Hallo,\n\nDe vraag die je aangeboden kreeg ({task}) heeft je niet meer nodig: ze werd ingetrokken of afgelast.\n"
               "Je hoeft niets te doen. Bedankt om klaar te staan.",
               "Helpt: de vraag ({task}) heeft je niet meer nodig. Toch bedankt."),
        "fr": ("Plus nécessaire : {task}",
               "Bonjour,\n\nLa demande qui vous a été proposée ({task}) n'a plus besoin de vous : elle a été retirée ou annulée.\n"
               "Vous n'avez rien à faire. Merci d'être prêt à aider.",
               "Helpt : la demande ({task}) n'a plus besoin de vous. Merci quand même."),
    },
    Kind.STILL_NEEDED: {
        "en": ("You are still needed",
               "Hello,\n\nWe have not been able to offer you a task yet, but your offer of help still counts.\n"
               "As soon as someone near you needs what you offered, we will write to you. Thank you for your patience.",
               "Helpt: no task for you yet, but you are still needed. We will write as soon as someone near you needs help."),
        "nl": ("We rekenen nog altijd op je",
               "Hallo,\n\nWe konden je nog geen taak aanbieden, maar je aanbod om te helpen telt nog altijd.\n"
               "Zodra iemand in je buurt nodig heeft wat je aanbiedt, schrijven we je. Bedankt voor je geduld.",
               "Helpt: nog geen taak voor jou, maar we rekenen nog altijd op je. We schrijven zodra iemand in je buurt hulp nodig heeft."),
        "fr": ("Nous comptons toujours sur vous",
               "Bonjour,\n\nNous n'avons pas encore pu vous proposer de tâche, mais votre offre d'aide compte toujours.\n"
               "Dès que quelqu'un près de chez vous aura besoin de ce que vous proposez, nous vous écrirons. Merci de votre patience.",
               "Helpt : pas encore de tâche pour vous, mais nous comptons toujours sur vous. Nous vous écrirons dès que possible."),
    },
    Kind.REMINDER: {
        "en": ("We are still looking for a volunteer",
               "Hello,\n\nWe have your request for help ({task}, reference {reference}) and are still looking for a volunteer.\n"
               "We will let you know as soon as someone has accepted. If you no longer need help, please tell us.",
               "Helpt: we are still looking for a volunteer for your request {reference}."),
        "nl": ("We zoeken nog een vrijwilliger",
               "Hallo,\n\nWe hebben je hulpvraag ({task}, referentie {reference}) en zoeken nog een vrijwilliger.\n"
               "We laten het je weten zodra iemand aanvaard heeft. Heb je geen hulp meer nodig, laat het ons dan weten.",
               "Helpt: we zoeken nog een vrijwilliger voor je vraag {reference}."),
        "fr": ("Nous cherchons encore un bénévole",
               "Bonjour,\n\nNous avons bien reçu votre demande d'aide ({task}, référence {reference}) et cherchons encore un bénévole.\n"
               "Nous vous préviendrons dès que quelqu'un aura accepté. Si vous n'avez plus besoin d'aide, dites-le-nous.",
               "Helpt : nous cherchons encore un bénévole pour votre demande {reference}."),
    },
}

LANGUAGES = ("nl", "en", "fr")
_DATE = {"en": "%d %B %Y, %H:%M", "nl": "%d-%m-%Y om %H:%M", "fr": "%d/%m/%Y à %H:%M"}


def language_for(languages: Iterable[str] | None) -> str:
    """The first of a person's languages we have texts in; English otherwise."""
    return next((lang for lang in languages or () if lang in LANGUAGES), "en")


def render(kind: Kind, language: str, *, task: str = "", distance_km: float | None = None, deadline: dt.datetime | None = None,
           link: str = "", reference: str = "", time_zone: str = "Europe/Brussels") -> Rendered:
    """One message in `language` (English if we have no texts in it)."""
    language = language if language in LANGUAGES else "en"
    subject, body, short = _TEXTS[kind][language]
    local = deadline.astimezone(ZoneInfo(time_zone)) if deadline else None
    values = {"task": task.replace("-", " "), "link": link, "reference": reference or "-",
              "distance": f"{distance_km:.1f} km".replace(".", "," if language != "en" else ".") if distance_km is not None else "",
              "deadline": f"{local.strftime(_DATE[language])} ({time_zone})" if local else ""}
    return Rendered(language, subject.format(**values), f"{body.format(**values)}\n\n-- \n{_SIGN[language]}\n",
                    short.format(**values))
