"""The page an approved volunteer opens from their signed link to confirm the guidelines and the insurance notice (nl/en/fr)."""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import parse_qs
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from helpt_platform.auth import Refusal
from helpt_screening.desk import ScreeningDesk
from helpt_screening.links import BadLink, ExpiredLink

__all__ = ["guidelines_pages"]

guidelines_pages = APIRouter(tags=["guidelines"], include_in_schema=False)
Lang = Literal["nl", "en", "fr"]

TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Richtlijnen voor vrijwilligers",
        "intro": "Welkom als vrijwilliger. Lees deze richtlijnen en de verzekeringsinformatie, en bevestig ze.",
        "g1": "Blijf thuis als u ziek bent of koorts heeft.",
        "g2": "Was of ontsmet uw handen voor en na elk bezoek.",
        "g3": "Houd anderhalve meter afstand en zet boodschappen aan de deur.",
        "g4": "Draag een mondmasker als afstand houden niet lukt.",
        "insurance": "Verzekering: de gemeente verzekert vrijwilligers voor burgerlijke aansprakelijkheid en lichamelijke ongevallen tijdens hun opdracht.",
        "confirm": "Ik heb de richtlijnen en de verzekeringsinformatie gelezen en volg ze",
        "done": "Dank u. Uw bevestiging is ontvangen; u kunt nu ook bezoeken aangeboden krijgen.",
        "bad": "Deze link is niet geldig.",
        "expired": "Deze link is verlopen. Vraag de hulplijn om een nieuwe.",
        "closed": "U bent (niet meer) goedgekeurd als vrijwilliger; bevestigen is niet nodig.",
    },
    "en": {
        "title": "Guidelines for volunteers",
        "intro": "Welcome as a volunteer. Please read these guidelines and the insurance notice, and confirm them.",
        "g1": "Stay at home if you are ill or have a fever.",
        "g2": "Wash or disinfect your hands before and after every visit.",
        "g3": "Keep one and a half metres apart and leave shopping at the door.",
        "g4": "Wear a face mask when you cannot keep your distance.",
        "insurance": "Insurance: the municipality insures volunteers for civil liability and bodily accidents while on a task.",
        "confirm": "I have read the guidelines and the insurance notice and will follow them",
        "done": "Thank you. Your confirmation was received; you may now also be offered visits.",
        "bad": "This link is not valid.",
        "expired": "This link has expired. Ask the help desk for a new one.",
        "closed": "You are not (or no longer) approved as a volunteer; there is nothing to confirm.",
    },
    "fr": {
        "title": "Consignes pour les bénévoles",
        "intro": "Bienvenue parmi les bénévoles. Lisez ces consignes et l'information sur l'assurance, puis confirmez-les.",
        "g1": "Restez chez vous si vous êtes malade ou avez de la fièvre.",
        "g2": "Lavez-vous ou désinfectez-vous les mains avant et après chaque visite.",
        "g3": "Gardez une distance d'un mètre et demi et déposez les courses devant la porte.",
        "g4": "Portez un masque lorsque la distance ne peut pas être respectée.",
        "insurance": "Assurance : la commune assure les bénévoles en responsabilité civile et en accidents corporels pendant leur mission.",
        "confirm": "J'ai lu les consignes et l'information sur l'assurance et je les suivrai",
        "done": "Merci. Votre confirmation a été reçue ; des visites peuvent maintenant aussi vous être proposées.",
        "bad": "Ce lien n'est pas valable.",
        "expired": "Ce lien a expiré. Demandez-en un nouveau au service d'aide.",
        "closed": "Vous n'êtes pas (ou plus) accepté comme bénévole ; il n'y a rien à confirmer.",
    },
}


def _page(lang: str, body: str, status: int = 200) -> HTMLResponse:
    t = TEXT[lang]
    others = " ".join(f'<a href="?lang={code}" lang="{code}" hreflang="{code}">{code.upper()}</a>' for code in TEXT if code != lang)
    html = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t["title"])} — Helpt</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}}
button{{font-size:1rem;padding:.6rem 1rem;background:#0b5394;color:#fff;border:0;border-radius:4px}}
button:focus,a:focus{{outline:3px solid #b35900;outline-offset:2px}} a{{color:#0b5394}}</style></head>
<body><header><nav aria-label="Language">{others}</nav></header><main><h1>{escape(t["title"])}</h1>{body}</main></body></html>"""
    return HTMLResponse(html, status_code=status)


def _desk(request: Request) -> ScreeningDesk:
    return request.app.state.desk()


def _check(desk: ScreeningDesk, token: str, lang: str) -> tuple[object | None, HTMLResponse | None]:
    try:
        return desk.links.read(token, dt.datetime.now(dt.UTC)), None
    except ExpiredLink:
        return None, _page(lang, f"<p>{escape(TEXT[lang]['expired'])}</p>", 410)
    except BadLink:
        return None, _page(lang, f"<p>{escape(TEXT[lang]['bad'])}</p>", 404)


@guidelines_pages.get("/guidelines/{token}", response_class=HTMLResponse)
async def show(token: str, request: Request, lang: Annotated[Lang, Query()] = "nl") -> HTMLResponse:
    desk = _desk(request)
    _, refused = _check(desk, token, lang)
    if refused:
        return refused
    t = TEXT[lang]
    body = (f"<p>{escape(t['intro'])}</p><ul>" + "".join(f"<li>{escape(t[k])}</li>" for k in ("g1", "g2", "g3", "g4"))
            + f"</ul><h2>{escape(t['insurance'].split(':')[0])}</h2><p>{escape(t['insurance'])}</p>"
            f'<form method="post"><input type="hidden" name="lang" value="{lang}">'
            f'<button type="submit">{escape(t["confirm"])}</button></form>')
    return _page(lang, body)


@guidelines_pages.post("/guidelines/{token}", response_class=HTMLResponse)
async def confirm(token: str, request: Request) -> HTMLResponse:
    # A one-field form, read by hand: no multipart parser needed for it.
    asked = parse_qs((await request.body())[:200].decode("utf-8", "replace")).get("lang", ["nl"])[0]
    lang = asked if asked in TEXT else "nl"
    desk = _desk(request)
    signed, refused = _check(desk, token, lang)
    if refused:
        return refused
    try:
        await desk.confirm_guidelines(signed.tenant, signed.ident)  # type: ignore[union-attr]
    except Refusal as refusal:
        if refusal.status in (404, 409):
            return _page(lang, f"<p>{escape(TEXT[lang]['closed'])}</p>", 409)
        raise
    return _page(lang, f'<p role="status">{escape(TEXT[lang]["done"])}</p>')
