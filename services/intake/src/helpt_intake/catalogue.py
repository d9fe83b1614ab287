"""The catalogue of vacancies: one definition, its texts in every language, as versioned tenant data.

A coordinator changes it once: saves a draft (validated: every vacancy has every text in every
language), previews it, then publishes it. A published version is never changed again; the live
version keeps serving while a draft is edited. A tenant without any version starts from the
shipped catalogue (`data/catalogue.json`), stored as its version 1.

Storage (FerretDB: no transactions, one document is atomic): one document per published version
in `catalogue_versions`, `_id` "<tenant>:<version>"; at most one draft per tenant in
`catalogue_drafts`, `_id` the tenant. The `_id` is the unique index that makes the races
harmless: two replicas seeding version 1 insert the same `_id` (one wins, both read it back);
two publishes of one draft both insert "<tenant>:<based_on + 1>" (one wins, the other is 409).

The crisis purge deletes every document carrying the tenant's `tenant` field, and these do on
purpose. The catalogue holds no personal data of the public, but it names the staff who edited
it, and "nothing of the municipality remains" is a promise the purge report can only make if it
has no exceptions. Nothing needed is lost: the next use re-seeds version 1 from the shipped
catalogue. A city that wants its own texts for a next crisis keeps a copy beforehand
(`GET /api/v1/catalogue/versions/{n}`). No document has `subject_ids`, so erasing one person
never touches the catalogue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from helpt_contracts.types import CompetenceCode, LanguageCode, TaskCode
from helpt_platform.auth import Refusal

__all__ = ["Catalogue", "CatalogueStore", "Published", "Requirements", "Vacancy", "VacancyText", "load_catalogue"]

SHIPPED = Path(__file__).parent / "data" / "catalogue.json"
SHIPPED_EDITOR = "shipped"
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


@contextlib.asynccontextmanager
async def _store_answers(help_phone: str | None) -> AsyncIterator[None]:
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError:
        call = f", or call {help_phone}" if help_phone else ""
        raise Refusal(503, f"We cannot read the list of vacancies right now. Please try again in a few minutes{call}.") from None


class CatalogueStore:
    """Each tenant's published catalogue versions and its one draft."""

    CACHE_S = 5.0  # other replicas see a new version within this; this one at once

    def __init__(self, db: AsyncDatabase, tenants: Iterable[str], *, shipped: Catalogue | None = None,
                 help_phone: str | None = None) -> None:
        self._versions = db["catalogue_versions"]
        self._drafts = db["catalogue_drafts"]
        self._tenants = frozenset(tenants)
        self._shipped = shipped or load_catalogue()
        self._cache: dict[str, tuple[float, Catalogue]] = {}
        self._help_phone = help_phone

    def _answers(self) -> contextlib.AbstractAsyncContextManager[None]:
        return _store_answers(self._help_phone)  # a failing store: 503 with the help desk's number

    def _known(self, tenant: str) -> None:
        if tenant not in self._tenants:
            raise Refusal(422, f"unknown municipality: {tenant}; choose one of {', '.join(sorted(self._tenants))}")

    async def published(self, tenant: str) -> Catalogue:
        """The live version; the shipped catalogue becomes version 1 if the tenant has none yet."""
        self._known(tenant)
        cached = self._cache.get(tenant)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        return await self._latest(tenant)

    async def _latest(self, tenant: str) -> Catalogue:
        async with self._answers():
            latest = await self._versions.find_one({"tenant": tenant}, sort=[("version", -1)])
            if latest is None:
                with contextlib.suppress(DuplicateKeyError):  # another replica seeded it first: same content
                    await self._versions.insert_one(self._version_doc(tenant, self._shipped.content(), 1, SHIPPED_EDITOR, None))
                latest = await self._versions.find_one({"tenant": tenant}, sort=[("version", -1)])
        catalogue = Catalogue.model_validate({"version": latest["version"], "languages": latest["languages"],
                                              "vacancies": latest["vacancies"]})
        self._cache[tenant] = (time.monotonic() + self.CACHE_S, catalogue)
        return catalogue

    async def draft(self, tenant: str) -> Catalogue | None:
        """The draft, numbered as the version it would become; None when there is none."""
        self._known(tenant)
        async with self._answers():
            doc = await self._drafts.find_one({"_id": tenant})
        return None if doc is None else self._draft_of(doc)

    async def save_draft(self, tenant: str, body: dict, editor: str) -> Catalogue:
        """Replace the draft with `body` (a whole catalogue), once it is valid; 422 says what is missing."""
        self._known(tenant)
        based_on = (await self._latest(tenant)).version  # not the cache: another replica may have just published
        catalogue = parse_catalogue(body, based_on + 1)
        doc = {"_id": tenant, "tenant": tenant, "based_on": based_on, "revision": uuid.uuid4().hex,
               "saved_at": dt.datetime.now(dt.UTC), "editor": editor, **catalogue.content()}
        async with self._answers():
            await self._drafts.replace_one({"_id": tenant}, doc, upsert=True)
        return catalogue

    async def discard_draft(self, tenant: str) -> None:
        self._known(tenant)
        async with self._answers():
            await self._drafts.delete_one({"_id": tenant})

    async def publish(self, tenant: str, editor: str) -> Catalogue:
        """The draft becomes the next version, for good; 409 if there is none or someone published first."""
        self._known(tenant)
        try:
            async with self._answers():
                doc = await self._drafts.find_one({"_id": tenant})
                if doc is None:
                    raise Refusal(409, "there is no draft to publish")
                catalogue = self._draft_of(doc)
                try:
                    await self._versions.insert_one(
                        self._version_doc(tenant, catalogue.content(), catalogue.version, editor, doc["revision"]))
                except DuplicateKeyError:
                    raise Refusal(409, f"version {catalogue.version} was published meanwhile; look at the catalogue "
                                       "and save the draft again if it still holds changes") from None
                # Only the draft just published: one saved meanwhile stays, to be published next.
                await self._drafts.delete_one({"_id": tenant, "revision": doc["revision"]})
        finally:
            self._cache.pop(tenant, None)  # won or lost, this replica's cached version may be old now
        return catalogue

    async def version(self, tenant: str, version: int) -> Catalogue | None:
        """One published version, or None."""
        await self.published(tenant)
        async with self._answers():
            doc = await self._versions.find_one({"_id": f"{tenant}:{version}"})
        return None if doc is None else Catalogue.model_validate(
            {"version": doc["version"], "languages": doc["languages"], "vacancies": doc["vacancies"]})

    async def history(self, tenant: str) -> list[Published]:
        """Every published version, newest first."""
        await self.published(tenant)
        async with self._answers():
            cursor = self._versions.find({"tenant": tenant}, {"version": 1, "published_at": 1, "editor": 1}).sort("version", -1)
            return [Published(d["version"], d["published_at"], d["editor"]) async for d in cursor]

    @staticmethod
    def _version_doc(tenant: str, content: dict[str, Any], version: int, editor: str, revision: str | None) -> dict[str, Any]:
        return {"_id": f"{tenant}:{version}", "tenant": tenant, "version": version, "published_at": dt.datetime.now(dt.UTC),
                "editor": editor, "draft_revision": revision, **content}

    @staticmethod
    def _draft_of(doc: dict[str, Any]) -> Catalogue:
        return Catalogue.model_validate({"version": doc["based_on"] + 1, "languages": doc["languages"], "vacancies": doc["vacancies"]})
