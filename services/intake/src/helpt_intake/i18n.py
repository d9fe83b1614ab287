"""Languages of the public pages: one set of templates, one gettext catalogue per language.

The catalogues live in `locale/<lang>/LC_MESSAGES/messages.po`; English is the source language
of the templates. Adding a language is adding a catalogue (`make messages LANG=de` starts one),
not copying a template. The `.po` files are compiled in memory at start-up, so the repository
holds no binary `.mo` files that could drift from their source.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["LOCALE_DIR", "SOURCE_LANGUAGE", "languages", "negotiate", "translations"]

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"


@cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, Dutch first (the city's language), then alphabetical."""
    found = sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())
    return tuple(sorted(found, key=lambda lang: (lang != "nl", lang)))


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of one language; an untranslated message falls back to English."""
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as source:
        catalogue = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def negotiate(accept_language: str | None, available: tuple[str, ...] | None = None) -> str:
    """The best of our languages for an Accept-Language header; Dutch when nothing fits.

    'fr-BE,fr;q=0.9,en;q=0.5' → 'fr'. Weights out of range or unreadable count as 0.
    """
    available = available or languages()
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in available and 0 < weight <= 1:
            ranked.append((-weight, position, primary))
    return min(ranked)[2] if ranked else available[0]
