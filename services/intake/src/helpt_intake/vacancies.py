"""The catalogue's domain: vacancies, their texts and requirements, and what a whole catalogue must hold (no I/O)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from helpt_contracts.types import CompetenceCode, LanguageCode, TaskCode
from helpt_platform.auth import Refusal

__all__ = ["SHIPPED", "TEXT_FIELDS", "Catalogue", "Published", "Requirements", "Vacancy", "VacancyText", "load_catalogue",
           "parse_catalogue"]

SHIPPED = Path(__file__).parent / "data" / "catalogue.json"
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
TEXT_FIELDS = ("title", "summary", "asks", "material", "profile")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VacancyText(_Frozen):
    """What the public reads about a vacancy, in one language."""

    title: Title
    summary: Text
    asks: Text = Field(description="What it asks of the volunteer.")
    material: Text = Field(description="The material needed.")
    profile: Text = Field(description="The volunteer we look for.")


class Requirements(_Frozen):
    """What screening checks before a volunteer is offered this vacancy."""

    min_age: int | None = Field(default=None, ge=0, le=120)
    competences: tuple[CompetenceCode, ...] = Field(default=(), max_length=20)


class Vacancy(_Frozen):
    """One task volunteers can do."""

    code: TaskCode
    collective: bool = Field(description="A care organisation's need for several volunteers.")
    visit: bool = Field(description="The volunteer goes to someone's home.")
    requirements: Requirements
    texts: dict[LanguageCode, VacancyText]

    def listing(self, lang: str) -> dict[str, Any]:
        """This vacancy as the public API shows it in one language."""
        return {"code": self.code, "collective": self.collective, "visit": self.visit,
                "requirements": self.requirements.model_dump(mode="json"), **self.texts[lang].model_dump()}


class Catalogue(_Frozen):
    """One version of the catalogue (for a draft: the version it becomes when published)."""

    version: int = Field(ge=1)
    languages: tuple[LanguageCode, ...] = Field(min_length=1, max_length=20)
    vacancies: tuple[Vacancy, ...] = Field(max_length=200)

    @model_validator(mode="after")
    def _complete(self) -> Catalogue:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("a language is listed twice")
        codes = [v.code for v in self.vacancies]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"vacancy code used twice: {', '.join(twice)}")
        for vacancy in self.vacancies:
            missing = [lang for lang in self.languages if lang not in vacancy.texts]
            if missing:
                raise ValueError(f"vacancy {vacancy.code} has no text in {', '.join(missing)}")
            extra = sorted(set(vacancy.texts) - set(self.languages))
            if extra:
                raise ValueError(f"vacancy {vacancy.code} has a text in {', '.join(extra)}, "
                                 f"which is not one of the languages ({', '.join(self.languages)})")
        return self

    def has(self, code: str) -> bool:
        return self.get(code) is not None

    def get(self, code: str) -> Vacancy | None:
        return next((v for v in self.vacancies if v.code == code), None)

    def listing(self, lang: str) -> list[dict[str, Any]]:
        """The vacancies in one language; 422 naming the choices if it is not one of them."""
        if lang not in self.languages:
            raise Refusal(422, f"unknown language: {lang}; choose one of {', '.join(self.languages)}")
        return [v.listing(lang) for v in self.vacancies]

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include={"languages", "vacancies"})


class Published(NamedTuple):
    """One entry of a tenant's catalogue history."""

    version: int
    published_at: dt.datetime
    editor: str


@cache
def load_catalogue(path: Path = SHIPPED) -> Catalogue:
    """The shipped catalogue; refuses one where a vacancy lacks a language's text."""
    return Catalogue.model_validate(json.loads(path.read_text(encoding="utf-8")))


def parse_catalogue(body: Any, version: int) -> Catalogue:
    """A catalogue from an editor's body, or a 422 saying what is wrong where (never echoing values)."""
    if not isinstance(body, dict):
        raise Refusal(422, "send the whole catalogue: an object with languages and vacancies")
    content = {k: v for k, v in body.items() if k not in ("version", "based_on", "saved_at", "editor")}
    try:
        return Catalogue.model_validate({**content, "version": version})
    except ValidationError as error:
        raise Refusal(422, "the catalogue is not complete: " + "; ".join(_explain(error, content))) from None


def _explain(error: ValidationError, body: dict[str, Any]) -> Iterable[str]:
    vacancies = body.get("vacancies") if isinstance(body.get("vacancies"), list) else []
    for problem in error.errors()[:10]:
        loc = list(problem["loc"])
        where = ".".join(map(str, loc)) or "catalogue"
        if len(loc) >= 2 and loc[0] == "vacancies" and isinstance(loc[1], int) and loc[1] < len(vacancies):
            code = vacancies[loc[1]].get("code") if isinstance(vacancies[loc[1]], dict) else None
            rest = ".".join(map(str, loc[2:]))
            readable = isinstance(code, str) and len(code) <= 64 and loc[2:3] != ["code"]
            name = f"vacancy {code}" if readable else f"vacancy #{loc[1] + 1}"
            where = f"{name} {rest}".strip()
        message = problem["msg"].removeprefix("Value error, ")
        yield message if where == "catalogue" else f"{where}: {message}"
