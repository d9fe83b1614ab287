"""Languages of the coordinators' back office: one gettext catalogue per language, compiled in memory (as intake does, see ADR 10).

`locale/<lang>/LC_MESSAGES/messages.po`; English is the templates' source language.
`python -m helpt_matching.i18n` brings the catalogues in step with the texts in use (`make messages`);
`--check` exits 1 naming the texts a catalogue lacks (a test runs `missing()`).
"""

from __future__ import annotations

import io
import sys
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

__all__ = ["N_", "languages", "missing", "translations"]

PACKAGE = Path(__file__).parent
LOCALE_DIR = PACKAGE / "locale"
SOURCE_LANGUAGE = "en"


def N_(text: str) -> str:  # noqa: N802 — the gettext convention for a text translated later
    """Mark a text for the catalogues; it is translated where it is shown."""
    return text


@cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, Dutch first (the city's language), then alphabetical."""
    found = sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())
    return tuple(sorted(found, key=lambda lang: (lang != "nl", lang)))


def _path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def _read(lang: str) -> Catalog:
    with open(_path(lang), "rb") as source:
        return read_po(source, locale=lang)


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of one language; an untranslated text falls back to English."""
    compiled = io.BytesIO()
    write_mo(compiled, _read(lang), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def extract() -> Catalog:
    """Every text marked for translation in the matching package."""
    template = Catalog(project="Helpt matching", domain="messages")
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}):
        template.add(message)
    return template


def update() -> None:
    """Add new texts to every catalogue (untranslated) and drop the ones no page uses any more."""
    template = extract()
    for lang in languages():
        catalogue = _read(lang)
        catalogue.update(template, no_fuzzy_matching=True)
        buffer = io.BytesIO()
        write_po(buffer, catalogue, no_location=True, sort_output=True, width=120, ignore_obsolete=True)
        _path(lang).write_bytes(buffer.getvalue())


def missing() -> dict[str, list[str]]:
    """Per language, the texts in use that its catalogue does not translate."""
    texts = [m.id for m in extract() if m.id]
    gaps = {}
    for lang in languages():
        catalogue = _read(lang)
        lacking = [t for t in texts if not (m := catalogue.get(t)) or not m.string or m.fuzzy]
        if lang != SOURCE_LANGUAGE and lacking:
            gaps[lang] = lacking
    return gaps


if __name__ == "__main__":
    if "--check" in sys.argv:
        for lang, lacking in missing().items():
            print(f"{lang}: {len(lacking)} untranslated: " + "; ".join(lacking[:5]), file=sys.stderr)
        sys.exit(1 if missing() else 0)
    update()
    print(f"catalogues updated in {LOCALE_DIR}; translate the empty entries, then run the tests.")
