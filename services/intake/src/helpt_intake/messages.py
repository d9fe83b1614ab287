"""Keep the page catalogues in step with the templates: `make messages` (`python -m helpt_intake.messages`).

- no option: extract every marked text from the code and the templates, add new ones to each
  catalogue (untranslated) and drop texts no page uses any more;
- `--new de`: start the catalogue of a new language, ready to translate;
- `--check`: exit 1 naming every text a catalogue lacks (the test suite runs this).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from helpt_intake.i18n import LOCALE_DIR, SOURCE_LANGUAGE, languages

__all__ = ["extract", "missing", "update"]

PACKAGE = Path(__file__).parent
_METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
_OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extract() -> Catalog:
    """Every text marked for translation in the intake package."""
    template = Catalog(project="Helpt intake", domain="messages")
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map=_METHODS, options_map=_OPTIONS, keywords=keywords):
        template.add(message)
    return template


def _path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def _read(lang: str) -> Catalog:
    with open(_path(lang), "rb") as source:
        return read_po(source, locale=lang)


def _write(lang: str, catalogue: Catalog) -> None:
    _path(lang).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalogue, no_location=True, sort_output=True, width=120, ignore_obsolete=True)
    _path(lang).write_bytes(buffer.getvalue())


def update(new: str | None = None) -> None:
    """Bring every catalogue (and a new one) up to date with the texts in use."""
    template = extract()
    for lang in sorted({*languages(), *([new] if new else [])}):
        catalogue = _read(lang) if _path(lang).exists() else Catalog(locale=lang, project="Helpt intake", domain="messages")
        catalogue.update(template, no_fuzzy_matching=True)
        _write(lang, catalogue)


def missing() -> dict[str, list[str]]:
    """Per language, the texts in use that its catalogue does not translate (English is the source)."""
    texts = [m.id for m in extract() if m.id]
    gaps: dict[str, list[str]] = {}
    for lang in languages():
        if lang == SOURCE_LANGUAGE:
            continue
        catalogue = _read(lang)
        lacking = [t for t in texts if not (m := catalogue.get(t)) or not m.string or m.fuzzy]
        if lacking:
            gaps[lang] = lacking
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpt_intake.messages", description=__doc__.splitlines()[0])
    parser.add_argument("--new", metavar="LANG", help="start the catalogue of a new language, e.g. de")
    parser.add_argument("--check", action="store_true", help="exit 1 if a catalogue lacks a text")
    args = parser.parse_args(argv)
    if args.check:
        gaps = missing()
        for lang, texts in gaps.items():
            print(f"{lang}: {len(texts)} untranslated: " + "; ".join(texts[:5]), file=sys.stderr)
        return 1 if gaps else 0
    update(args.new)
    print(f"catalogues updated in {LOCALE_DIR}; translate the empty entries, then `make test`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
