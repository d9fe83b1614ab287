"""Documents keyed by a UUID, or referring to one, also carry that id as text, and are looked up by both.

The local store, FerretDB 1.24 on PostgreSQL (docs/adr/0017), finds a string field in SQL (by an index:
docs/adr/0018) but a UUID (BSON binary) only by decoding every document of the collection in Go: a look-up by a UUID `_id`
grows with the collection (0.2 s at 4,000 documents), the same look-up with the id as text beside it
stays at about 2 ms. MongoDB answers both from its indexes. So a UUID-keyed document is written with
`id_text`, and a UUID it refers to (an offer's `request_id`) with a text twin (`request_id_text`); it is
found with `by_id` / `by_ref`. `$in` is decoded in Go whatever its values, so `find_each` asks for each
value on its own. `backfill_job` gives the text to documents written before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from helpt_platform.logs import get_logger

__all__ = ["ID_TEXT", "add_id_text", "backfill_job", "by_id", "by_ref", "find_each", "id_text_job", "id_text_step",
           "text_of", "with_id_text"]

log = get_logger(__name__)

ID_TEXT = "id_text"
EACH_AT_ONCE = 16  # look-ups `find_each` keeps in flight
EACH_AT_MOST = 128  # beyond this many values, one `$in` (a read of the whole collection) costs less than a look-up each


def text_of(field: str) -> str:
    """The name of `field`'s text twin: `id_text` for `_id`, `request_id_text` for `request_id`."""
    return ID_TEXT if field == "_id" else f"{field}_text"


def by_ref(field: str, value: Any, **more: Any) -> dict[str, Any]:
    """The filter `field == value` (and `more` conditions); a UUID is matched as text too."""
    return {field: value, text_of(field): str(value), **more} if isinstance(value, UUID) else {field: value, **more}


def by_id(ident: Any, **more: Any) -> dict[str, Any]:
    """The filter for the document `ident` (and `more` conditions); a UUID is matched as text too."""
    return by_ref("_id", ident, **more)


def with_id_text(document: dict[str, Any], *refs: str) -> dict[str, Any]:
    """`document` as it is written: with its UUID `_id`, and the UUIDs in the fields `refs`, also as text."""
    return {**document, **{text_of(f): str(document[f]) for f in ("_id", *refs) if isinstance(document.get(f), UUID)}}


async def find_each(collection: AsyncCollection, field: str, values: Iterable[Any],
                    projection: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
    """The documents whose `field` is one of `values` (and `more`): one look-up by `by_ref` per value,
    EACH_AT_ONCE at a time, instead of one `$in` that the local store decodes document by document
    (up to EACH_AT_MOST values; for more, that one `$in` is the cheaper read)."""
    values = list(dict.fromkeys(values))
    if len(values) > EACH_AT_MOST:
        return await collection.find({field: {"$in": values}, **more}, projection).to_list()
    gate = asyncio.Semaphore(EACH_AT_ONCE)

    async def one(value: Any) -> list[dict[str, Any]]:
        async with gate:
            return await collection.find(by_ref(field, value, **more), projection).to_list()

    found = await asyncio.gather(*(one(v) for v in values))
    return [doc for docs in found for doc in docs]


async def add_id_text(collection: AsyncCollection, *refs: str) -> int:
    """Give the text of their UUID `_id` and `refs` to the documents written without it (a store from before);
    how many documents changed. A scan of the collection, run once at start."""
    missing = [{text_of(f): {"$exists": False}} for f in ("_id", *refs)]
    added = 0
    async for doc in collection.find({"$or": missing}, {"_id": 1, ID_TEXT: 1, **{f: 1 for f in refs}}):
        texts = {text_of(f): str(doc[f]) for f in ("_id", *refs) if isinstance(doc.get(f), UUID)}
        if texts:
            # By its id as text when it has it already (it lacks only a reference's): a UUID filter alone reads the
            # whole collection on the local store, once per document here.
            await collection.update_one(by_id(doc["_id"]) if ID_TEXT in doc else {"_id": doc["_id"]}, {"$set": texts})
            added += 1
    return added


Step = Callable[[AsyncDatabase], Awaitable[int]]


def id_text_step(collection: str, *refs: str) -> Step:
    """A `backfill_job` step: `add_id_text` on `collection`."""

    async def step(db: AsyncDatabase) -> int:
        return await add_id_text(db[collection], *refs)

    step.__name__ = f"id as text in {collection}"
    return step


def backfill_job(*steps: Step) -> Callable[[Any], Awaitable[None]]:
    """A background job (helpt_platform.service) that runs each step once the store answers, until each has run
    through: what documents written before a change need (each step changes only what still needs it)."""

    async def job(runtime: Any) -> None:
        pending = list(steps)
        while pending:
            try:
                while pending:
                    if changed := await pending[0](runtime.db):
                        log.info("documents written before brought up to date", step=pending[0].__name__, documents=changed)
                    pending.pop(0)
            except PyMongoError as exc:
                log.warning("bringing documents written before up to date failed; retrying", error=type(exc).__name__)
                await asyncio.sleep(5)

    return job


def id_text_job(*collections: str) -> Callable[[Any], Awaitable[None]]:
    """A background job that runs `add_id_text` on `collections` (no references) once the store answers."""
    return backfill_job(*(id_text_step(name) for name in collections))
