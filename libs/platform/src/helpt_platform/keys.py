"""Documents keyed by a UUID also carry that id as text, and are looked up by both.

The local store, FerretDB 1.24 on PostgreSQL (docs/adr/0017), filters a string field in SQL but a
UUID (BSON binary) only by decoding every document of the collection in Go: a look-up by a UUID `_id`
grows with the collection (0.2 s at 4,000 documents), the same look-up with the id as text beside it
stays at about 2 ms. MongoDB answers both from its `_id` index. So a UUID-keyed document is written
with `id_text`, and found with `by_id`; `add_id_text` gives it to documents written before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from helpt_platform.logs import get_logger

__all__ = ["ID_TEXT", "add_id_text", "by_id", "id_text_job", "with_id_text"]

log = get_logger(__name__)

ID_TEXT = "id_text"


def by_id(ident: Any, **more: Any) -> dict[str, Any]:
    """The filter for the document `ident` (and `more` conditions); a UUID is matched as text too."""
    return {"_id": ident, ID_TEXT: str(ident), **more} if isinstance(ident, UUID) else {"_id": ident, **more}


def with_id_text(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as it is written: with its UUID `_id` as text."""
    ident = document["_id"]
    return {**document, ID_TEXT: str(ident)} if isinstance(ident, UUID) else document


async def add_id_text(collection: AsyncCollection) -> int:
    """Give `id_text` to the UUID-keyed documents written without it (a store from before); how many.
    A scan of the collection, run once at start."""
    added = 0
    async for doc in collection.find({ID_TEXT: {"$exists": False}}, {"_id": 1}):
        if isinstance(doc["_id"], UUID):
            await collection.update_one({"_id": doc["_id"]}, {"$set": {ID_TEXT: str(doc["_id"])}})
            added += 1
    return added


def id_text_job(*collections: str) -> Callable[[Any], Awaitable[None]]:
    """A background job (helpt_platform.service) that runs `add_id_text` on `collections` once the store answers."""

    async def job(runtime: Any) -> None:
        while True:
            try:
                for name in collections:
                    if added := await add_id_text(runtime.db[name]):
                        log.info("ids as text added to documents written before", collection=name, documents=added)
                return
            except PyMongoError as exc:
                log.warning("adding ids as text failed; retrying", error=type(exc).__name__)
                await asyncio.sleep(5)

    return job
