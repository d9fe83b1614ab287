"""The staff pages' languages: one gettext catalogue per language, compiled in memory (ADR 10).

A package with pages keeps `locale/<lang>/LC_MESSAGES/messages.po` beside its `templates/`;
English is the templates' source language. `Catalogues(package_dir, project)` serves them,
and its `main()` is what `make messages` runs for the package: it brings every catalogue in
step with the texts in use, or with `--check` exits 1 naming the texts a catalogue lacks.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations

__all__ = ["SOURCE_LANGUAGE", "Catalogues", "N_"]

SOURCE_LANGUAGE = "en"


def N_(text: str) -> str:  # noqa: N802 — the gettext convention for a text translated later
    """Mark a text for the catalogues; it is translated where it is shown."""
    return text


class Catalogues:
    """The catalogues of one package's pages."""

    def __init__(self, package_dir: Path, project: str) -> None:
        self.package_dir = package_dir
        self.locale_dir = package_dir / "locale"
        self.project = project
        self.languages = cache(self._languages)
        self.translations = cache(self._translations)

    def _languages(self) -> tuple[str, ...]:
        """The languages with a catalogue, Dutch first (the city's language), then alphabetical."""
        found = sorted(p.name for p in self.locale_dir.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())
        return tuple(sorted(found, key=lambda lang: (lang != "nl", lang)))

    def _path(self, lang: str) -> Path:
        return self.locale_dir / lang / "LC_MESSAGES" / "messages.po"

    def _read(self, lang: str) -> Catalog:
        with open(self._path(lang), "rb") as source:
            return read_po(source, locale=lang)

    def _translations(self, lang: str) -> Translations:
        """The compiled catalogue of one language; an untranslated text falls back to English."""
        compiled = io.BytesIO()
        write_mo(compiled, self._read(lang), use_fuzzy=False)
        compiled.seek(0)
        return Translations(compiled, domain="messages")

    def extract(self) -> Catalog:
        """Every text marked for translation in the package (templates and Python)."""
        template = Catalog(project=self.project, domain="messages")
        for _file, _line, message, _comments, _context in extract_from_dir(
                str(self.package_dir), method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
                options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
                keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}):
            template.add(message)
        return template

    def update(self) -> None:
        """Add new texts to every catalogue (untranslated) and drop the ones no page uses any more."""
        template = self.extract()
        for lang in self.languages():
            catalogue = self._read(lang)
            catalogue.update(template, no_fuzzy_matching=True)
            buffer = io.BytesIO()
            write_po(buffer, catalogue, no_location=True, sort_output=True, width=120, ignore_obsolete=True)
            self._path(lang).write_bytes(buffer.getvalue())

    def missing(self) -> dict[str, list[str]]:
        """Per language, the texts in use that its catalogue does not translate."""
        texts = [m.id for m in self.extract() if m.id]
        gaps = {}
        for lang in self.languages():
            catalogue = self._read(lang)
            lacking = [t for t in texts if not (m := catalogue.get(t)) or not m.string or m.fuzzy]
            if lang != SOURCE_LANGUAGE and lacking:
                gaps[lang] = lacking
        return gaps

    def main(self, argv: Sequence[str] | None = None) -> int:
        args = sys.argv[1:] if argv is None else list(argv)
        if "--check" in args:
            gaps = self.missing()
            for lang, lacking in gaps.items():
                print(f"{lang}: {len(lacking)} untranslated: " + "; ".join(lacking[:5]), file=sys.stderr)
            return 1 if gaps else 0
        self.update()
        print(f"catalogues updated in {self.locale_dir}; translate the empty entries, then run the tests.")
        return 0
