"""Deciding who came first on FerretDB: by inserting a document with a unique `_id` (ADR 9).

FerretDB 1.24 does not apply a conditional `update_one` atomically: two writers with the same
`{"_id": …, "version": v}` filter may both "win", and the document keeps only the last write.
A unique `_id` insert is decided exactly once. So:

- `claim(collection, key)` — a one-off: the first caller wins, every later one gets False.
  `release` gives it back (after a failure, so a retry may win).
- `VersionedDocuments.write(...)` — every change of one document, one after another: a writer
  reads the document at version v, decides its `$set`, and claims "<id>:<v+1>" by inserting it
  with the change before it writes the document. Whoever loses reads again. A winner that died
  between its claim and its write is caught up by the next writer, from the change stored in
  the claim (whole values, so writing them twice is harmless).

Claims carry `tenant` and `subject_ids`, so gdpr's erasure and end-of-crisis purge remove them
with the documents they belong to.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from helpt_platform.keys import by_id

__all__ = ["Conflict", "VersionedDocuments", "claim", "release"]


class Conflict(RuntimeError):
    """Other writers kept winning; try again later (a consumer's retry, a 409/503 to a person)."""


async def claim(collection: AsyncCollection, key: str, **fields: Any) -> bool:
    """True for the first caller with this key, False for every later one.

    A claim with events to publish (`unsent: True`, an outbox) is noted in the relay's queue at once."""
    try:
        await collection.insert_one({"_id": key, "claimed_at": dt.datetime.now(dt.UTC), **fields})
    except DuplicateKeyError:
        return False
    if fields.get("unsent"):
        from helpt_platform.outbox import enqueue  # the outbox builds on claims, not the other way round

        await enqueue(collection, key, tenant=fields.get("tenant"), subject_ids=fields.get("subject_ids", []))
    return True


async def release(collection: AsyncCollection, key: str) -> None:
    """Give a claim back, so a later attempt can win it."""
    await collection.delete_one({"_id": key})


Decide = Callable[[dict[str, Any]], dict[str, Any] | None]


class VersionedDocuments:
    """Serialised changes of the documents of `documents`, decided by claims in `claims`."""

    def __init__(self, documents: AsyncCollection, claims: AsyncCollection, *, attempts: int = 12) -> None:
        self._documents = documents
        self._claims = claims
        self._attempts = attempts

    async def write(self, selector: dict[str, Any], decide: Decide) -> dict[str, Any] | None:
        """Apply `decide(document)` — the fields to set, or None for nothing — as the next version.

        Returns the document as written (or as found, when there was nothing to do); None when
        no document matches `selector`. Raises `Conflict` when others kept winning.
        """
        for attempt in range(self._attempts):
            doc = await self._documents.find_one(selector)
            if doc is None:
                return None
            version = doc.get("version", 0)
            changes = decide(doc)
            if changes is None:
                return doc
            key = f"{doc['_id']}:{version + 1}"
            won = await claim(self._claims, key, tenant=doc.get("tenant"), subject_ids=doc.get("subject_ids", []),
                              changes=[{"field": k, "value": v} for k, v in changes.items()])
            if won:
                await self._documents.update_one(by_id(doc["_id"]), {"$set": {**changes, "version": version + 1}})
                return {**doc, **changes, "version": version + 1}
            await asyncio.sleep(0.01 * (attempt + 1))
            if attempt >= 2:
                await self._catch_up(doc["_id"], version + 1)
        raise Conflict("the document kept changing under every attempt")

    async def _catch_up(self, ident: Any, version: int) -> None:
        """Write a claimed change whose writer has not (yet) written it; the same values twice are harmless."""
        won = await self._claims.find_one({"_id": f"{ident}:{version}"})
        current = await self._documents.find_one(by_id(ident), {"version": 1})
        if won and current is not None and current.get("version", 0) == version - 1:
            changes = {item["field"]: item["value"] for item in won.get("changes", [])}
            await self._documents.update_one(by_id(ident), {"$set": {**changes, "version": version}})
