"""Languages of the screener pages: `locale/<lang>/LC_MESSAGES/messages.po`, served by helpt_platform.catalogues.

`python -m helpt_screening.i18n` (part of `make messages`) brings the catalogues in step with the texts in use;
`--check` exits 1 naming the texts a catalogue lacks (a test runs `missing()`).
"""

from __future__ import annotations

from pathlib import Path

from helpt_platform.catalogues import N_, Catalogues

__all__ = ["N_", "languages", "missing", "translations"]

CATALOGUES = Catalogues(Path(__file__).parent, "Helpt screening")
languages = CATALOGUES.languages
translations = CATALOGUES.translations
missing = CATALOGUES.missing

if __name__ == "__main__":
    raise SystemExit(CATALOGUES.main())
