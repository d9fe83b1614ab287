"""The catalogue of vacancies: one definition, its texts in every language.

Shipped as data (`data/catalogue.json`, versioned); a task code on a submission must name one.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["Catalogue", "Vacancy", "load_catalogue"]


class VacancyText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str
    summary: str


class Vacancy(BaseModel):
    """One task volunteers can do."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    collective: bool
    visit: bool
    texts: dict[str, VacancyText]


class Catalogue(BaseModel):
    """A published version of the catalogue."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: int
    languages: tuple[str, ...]
    vacancies: tuple[Vacancy, ...]

    def has(self, code: str) -> bool:
        return any(v.code == code for v in self.vacancies)


@cache
def load_catalogue(path: Path = Path(__file__).parent / "data" / "catalogue.json") -> Catalogue:
    """The shipped catalogue; refuses one where a vacancy lacks a language's text."""
    catalogue = Catalogue.model_validate(json.loads(path.read_text(encoding="utf-8")))
    for vacancy in catalogue.vacancies:
        missing = set(catalogue.languages) - set(vacancy.texts)
        if missing:
            raise ValueError(f"vacancy {vacancy.code} has no text in {', '.join(sorted(missing))}")
    return catalogue
