"""The catalogue of vacancies: one definition, its texts in every language, as versioned tenant data.

A coordinator changes it once: saves a draft (validated: every vacancy has every text in every
language), previews it, then publishes it. A published version is never changed again; the live
version keeps serving while a draft is edited. A tenant without any version starts from the
shipped catalogue (`data/catalogue.json`), stored as its version 1. The models and the checks a
catalogue passes are in `helpt_intake.vacancies` (no I/O); this module stores them.

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
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from helpt_intake.vacancies import (
    TEXT_FIELDS,
    Catalogue,
    Published,
    Requirements,
    Vacancy,
    VacancyText,
    load_catalogue,
    parse_catalogue,
)
from helpt_platform.auth import Refusal

__all__ = ["TEXT_FIELDS", "Catalogue", "CatalogueStore", "Published", "Requirements", "Vacancy", "VacancyText",
           "load_catalogue", "parse_catalogue"]

SHIPPED_EDITOR = "shipped"


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
                 help_phone: Callable[[str], str] | None = None) -> None:
        self._versions = db["catalogue_versions"]
        self._drafts = db["catalogue_drafts"]
        self._tenants = frozenset(tenants)
        self._shipped = shipped or load_catalogue()
        self._cache: dict[str, tuple[float, Catalogue]] = {}
        self._help_phone = help_phone

    def _answers(self, tenant: str) -> contextlib.AbstractAsyncContextManager[None]:
        return _store_answers(self._help_phone(tenant) if self._help_phone else None)  # a failing store: 503 with the help desk's number

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
        async with self._answers(tenant):
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
        async with self._answers(tenant):
            doc = await self._drafts.find_one({"_id": tenant})
        return None if doc is None else self._draft_of(doc)

    async def save_draft(self, tenant: str, body: dict, editor: str) -> Catalogue:
        """Replace the draft with `body` (a whole catalogue), once it is valid; 422 says what is missing."""
        self._known(tenant)
        based_on = (await self._latest(tenant)).version  # not the cache: another replica may have just published
        catalogue = parse_catalogue(body, based_on + 1)
        doc = {"_id": tenant, "tenant": tenant, "based_on": based_on, "revision": uuid.uuid4().hex,
               "saved_at": dt.datetime.now(dt.UTC), "editor": editor, **catalogue.content()}
        async with self._answers(tenant):
            await self._drafts.replace_one({"_id": tenant}, doc, upsert=True)
        return catalogue

    async def discard_draft(self, tenant: str) -> None:
        self._known(tenant)
        async with self._answers(tenant):
            await self._drafts.delete_one({"_id": tenant})

    async def publish(self, tenant: str, editor: str) -> Catalogue:
        """The draft becomes the next version, for good; 409 if there is none or someone published first."""
        self._known(tenant)
        try:
            async with self._answers(tenant):
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
        async with self._answers(tenant):
            doc = await self._versions.find_one({"_id": f"{tenant}:{version}"})
        return None if doc is None else Catalogue.model_validate(
            {"version": doc["version"], "languages": doc["languages"], "vacancies": doc["vacancies"]})

    async def history(self, tenant: str) -> list[Published]:
        """Every published version, newest first."""
        await self.published(tenant)
        async with self._answers(tenant):
            cursor = self._versions.find({"tenant": tenant}, {"version": 1, "published_at": 1, "editor": 1}).sort("version", -1)
            return [Published(d["version"], d["published_at"], d["editor"]) async for d in cursor]

    @staticmethod
    def _version_doc(tenant: str, content: dict[str, Any], version: int, editor: str, revision: str | None) -> dict[str, Any]:
        return {"_id": f"{tenant}:{version}", "tenant": tenant, "version": version, "published_at": dt.datetime.now(dt.UTC),
                "editor": editor, "draft_revision": revision, **content}

    @staticmethod
    def _draft_of(doc: dict[str, Any]) -> Catalogue:
        return Catalogue.model_validate({"version": doc["based_on"] + 1, "languages": doc["languages"], "vacancies": doc["vacancies"]})
