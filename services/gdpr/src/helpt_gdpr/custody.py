"""Data keys: one per data subject, created here, stored only wrapped by the tenant key.

Each tenant's keys live in a collection of their own, `data_keys.<tenant>`, so that the end of a
crisis drops one collection instead of deleting its keys in ranges: on FerretDB each range re-read and
decoded all the tenant's remaining keys, so 100,000 keys took 18 s and the time grew with the square of
the count (ADR 0019, bench/README benchmark 5).
Keys written before this layout, in the shared collection `data_keys`, are moved at start
(`ensure_indexes`) and, until then or where a move was refused, still found there.

A key document is `{_id: kid, subject_id: "<uuid as text>", wrapped: <bytes>}` and nothing else: the tenant is the
collection's, and FerretDB decodes every document to count them for the purge's report, at a cost that grows
with each field (a UUID field most): 28.6 µs a key with the tenant, a creation time and the subject as a UUID,
20.6 µs like this (100,000 keys; ADR 0019). Keys written before in that longer shape are still found and opened.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID, uuid4

import structlog
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from helpt_gdpr.crypto import new_key, unwrap_key, wrap_key
from helpt_gdpr.tenant_keys import TenantKeyProvider
from helpt_platform.mongo import delete_all

__all__ = ["KeyCustody", "TenantUnavailable", "key_document"]

log = structlog.get_logger(__name__)
PREFIX = "data_keys"
_MOVE_BATCH = 1000


class TenantUnavailable(LookupError):
    """The tenant has no key: unknown here, or its crisis was purged."""


def key_document(kid: str, subject_id: UUID, wrapped: bytes) -> dict[str, Any]:
    """How a data key is kept in its tenant's collection."""
    return {"_id": kid, "subject_id": str(subject_id), "wrapped": wrapped}


def _subject_filters(subject_id: UUID) -> list[dict[str, Any]]:
    """A subject's keys as written now (id as text) and before (a UUID): two equalities, each looked up by
    the index on FerretDB, where one `$in` would read every key."""
    return [{"subject_id": str(subject_id)}, {"subject_id": subject_id}]


class KeyCustody:
    """Creates, finds and destroys subjects' data keys."""

    def __init__(self, db: AsyncDatabase, tenants: TenantKeyProvider) -> None:
        self._db = db
        self._legacy: AsyncCollection = db[PREFIX]
        self._tenants = tenants
        self._indexed: set[str] = set()

    def collection_name(self, tenant: str) -> str:
        """The collection holding this tenant's keys."""
        return f"{PREFIX}.{tenant}"

    def _collection(self, tenant: str) -> AsyncCollection:
        return self._db[self.collection_name(tenant)]

    async def _keys(self, tenant: str) -> AsyncCollection:
        """The tenant's collection, with its unique index: for writing a key."""
        coll = self._collection(tenant)
        if tenant not in self._indexed:  # once per tenant and process; creating an existing index is a no-op
            await coll.create_index([("subject_id", ASCENDING)], unique=True, name="one_key_per_subject")
            self._indexed.add(tenant)
        return coll

    async def ensure_indexes(self) -> None:
        """Move keys kept in the shared collection before into their tenants' collections (each tenant's index is
        made as it is first written)."""
        await self._move_legacy()

    async def _move_legacy(self) -> int:
        """Keys from the shared collection into their tenant's; how many moved. A key is deleted there only once
        its tenant's collection holds it (same `_id`): a crash repeats the move, and a key whose subject already
        has another key in the new place stays where it is (found there still, destroyed with its tenant)."""
        moved, kept = 0, []
        while True:
            batch = await self._legacy.find({"_id": {"$nin": kept}} if kept else {}).limit(_MOVE_BATCH).to_list()
            if not batch:
                return moved
            by_tenant: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for doc in batch:
                by_tenant[doc["tenant"]].append(key_document(doc["_id"], doc["subject_id"], doc["wrapped"]))
            for tenant, docs in by_tenant.items():
                coll = await self._keys(tenant)
                refused: set[int] = set()
                try:
                    await coll.insert_many(docs, ordered=False)
                except BulkWriteError as exc:
                    refused = {error["index"] for error in exc.details.get("writeErrors", [])}
                done = [doc["_id"] for i, doc in enumerate(docs) if i not in refused]
                for i in refused:  # already moved by an earlier attempt, or a subject with a newer key
                    if await coll.find_one({"_id": docs[i]["_id"]}, {"_id": 1}) is not None:
                        done.append(docs[i]["_id"])
                    else:
                        kept.append(docs[i]["_id"])
                        log.warning("data key left in the shared collection: its subject has another key", tenant=tenant)
                for _id in done:
                    await self._legacy.delete_one({"_id": _id})
                moved += len(done)

    async def tenant_key(self, tenant: str) -> bytes:
        key = await self._tenants.get(tenant)
        if key is None:
            raise TenantUnavailable(tenant)
        return key

    async def key_for_sealing(self, tenant: str, subject_id: UUID, *, new: bool = False) -> tuple[str, bytes]:
        """(kid, data key) of the subject, created on first use.

        `new`: the caller just made up `subject_id`, so there is no key to look for (one look-up less on
        every submission from the public form).
        """
        tenant_key = await self.tenant_key(tenant)
        keys = await self._keys(tenant)
        doc = None if new else await self._find_subject(tenant, keys, subject_id)
        if doc is None:
            kid = f"dk-{uuid4().hex}"
            data_key = new_key()
            doc = key_document(kid, subject_id, wrap_key(tenant_key, tenant, subject_id, kid, data_key))
            try:
                await keys.insert_one(doc)
            except DuplicateKeyError:  # a concurrent seal for the same subject won the race
                doc = await keys.find_one({"subject_id": str(subject_id)})
                if doc is None:
                    raise
            if await self._tenants.get(tenant) is None:  # the crisis was purged while this key was made
                await keys.delete_one({"_id": kid})
                raise TenantUnavailable(tenant)
        return doc["_id"], unwrap_key(tenant_key, tenant, subject_id, doc["_id"], doc["wrapped"])

    async def _find_subject(self, tenant: str, keys: AsyncCollection, subject_id: UUID) -> dict[str, Any] | None:
        for query in _subject_filters(subject_id):
            if (doc := await keys.find_one(query)) is not None:
                return doc
        return await self._legacy.find_one({"tenant": tenant, "subject_id": subject_id})

    async def key_for_opening(self, tenant: str, subject_id: UUID, kid: str) -> bytes | None:
        """The data key named `kid` of this subject, or None if it was destroyed or is not theirs."""
        tenant_key = await self.tenant_key(tenant)
        # By `_id` alone (looked up by an index on FerretDB too), then checked here.
        doc = await self._collection(tenant).find_one({"_id": kid}) or await self._legacy.find_one({"_id": kid})
        if doc is None or doc.get("tenant", tenant) != tenant or str(doc.get("subject_id")) != str(subject_id):
            return None
        return unwrap_key(tenant_key, tenant, subject_id, kid, doc["wrapped"])

    async def destroy_subject(self, tenant: str, subject_id: UUID) -> int:
        """Crypto-shred one subject: every sealed copy of their data becomes unreadable."""
        here = [(await self._collection(tenant).delete_many(query)).deleted_count for query in _subject_filters(subject_id)]
        return sum(here) + (await self._legacy.delete_many({"tenant": tenant, "subject_id": subject_id})).deleted_count

    async def destroy_tenant(self, tenant: str) -> tuple[int, bool]:
        """Crypto-shred a whole tenant: (data keys deleted, whether the tenant key existed).

        The tenant key goes first: from then on no data key of the tenant can be unwrapped, and no new one is
        kept. The keys are counted for the report (on FerretDB the longest step: it decodes each one), and
        their collection is dropped."""
        existed = await self._tenants.destroy(tenant)
        keys = self._collection(tenant)
        count = await keys.count_documents({})
        await keys.drop()
        self._indexed.discard(tenant)
        return count + await delete_all(self._legacy, {"tenant": tenant}), existed

    async def count_subject(self, tenant: str, subject_id: UUID) -> int:
        """How many data keys the subject has (0 or 1)."""
        here = [await self._collection(tenant).count_documents(query) for query in _subject_filters(subject_id)]
        return sum(here) + await self._legacy.count_documents({"tenant": tenant, "subject_id": subject_id})

    async def count(self, tenant: str) -> int:
        """How many data keys the tenant has (reads every one of them on FerretDB)."""
        here = await self._collection(tenant).count_documents({})
        return here + await self._legacy.count_documents({"tenant": tenant})

    async def holds_any(self, tenant: str) -> bool:
        """Whether the tenant has at least one data key (one document read)."""
        if await self._collection(tenant).find_one({}, {"_id": 1}) is not None:
            return True
        return await self._legacy.find_one({"tenant": tenant}, {"_id": 1}) is not None
