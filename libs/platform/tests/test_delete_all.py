"""Deleting everything a filter matches, however much (helpt_platform.mongo.delete_all): purges depend on it."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from helpt_platform.mongo import delete_all


class CappedStore:
    """A collection that, like FerretDB on PostgreSQL, refuses a delete matching more than `cap` documents."""

    def __init__(self, docs: list[dict[str, Any]], cap: int) -> None:
        self.docs, self.cap, self.largest = list(docs), cap, 0

    @staticmethod
    def _matches(doc: dict[str, Any], selector: dict[str, Any]) -> bool:
        for field, want in selector.items():
            if isinstance(want, dict):
                bound = want["$lte"]
                if type(doc[field]) is not type(bound) or doc[field] > bound:  # a range compares within one type
                    return False
            elif doc.get(field) != want:
                return False
        return True

    async def delete_many(self, selector: dict[str, Any]) -> Any:
        hit = [d for d in self.docs if self._matches(d, selector)]
        if len(hit) > self.cap:
            raise OperationFailure("extended protocol limited to 65535 parameters", 1)
        self.largest = max(self.largest, len(hit))
        self.docs = [d for d in self.docs if d not in hit]
        return type("Result", (), {"deleted_count": len(hit)})()

    def find(self, selector: dict[str, Any], _projection: dict[str, Any]) -> Any:
        async def found():
            for doc in [d for d in self.docs if self._matches(d, selector)]:
                yield {"_id": doc["_id"]}
        return found()


async def test_more_than_the_store_takes_at_once_is_deleted_in_chunks_of_each_id_type_and_nothing_else():
    mine = [{"_id": f"k-{n:03}", "tenant": "leuven"} for n in range(23)] + [{"_id": uuid.uuid4(), "tenant": "leuven"} for _ in range(9)]
    theirs = [{"_id": f"k-{n:03}x", "tenant": "heverlee"} for n in range(7)] + [{"_id": uuid.uuid4(), "tenant": "heverlee"}]
    store = CappedStore(mine + theirs, cap=10)
    assert await delete_all(store, {"tenant": "leuven"}, chunk=6) == 32
    assert store.docs == theirs
    assert 0 < store.largest <= 10


async def test_a_delete_the_store_takes_is_one_delete_many():
    store = CappedStore([{"_id": f"k-{n}", "tenant": "leuven"} for n in range(5)], cap=10)
    assert await delete_all(store, {"tenant": "leuven"}) == 5
    assert store.docs == [] and store.largest == 5


async def test_another_store_failure_is_not_taken_for_a_count_and_is_raised():
    class Broken(CappedStore):
        async def delete_many(self, selector):
            raise OperationFailure("not authorised", 13)

    with pytest.raises(OperationFailure, match="not authorised"):
        await delete_all(Broken([], cap=1), {"tenant": "leuven"})


@pytest.mark.infra
async def test_a_tenant_with_more_documents_than_postgresql_has_parameters_is_deleted_from_the_real_store(infra, unique_name):
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard")
    keys = client[f"helpt_{unique_name}".replace("-", "_")]["keys"]
    try:
        mine = 66_000  # more than the 65,535 parameters FerretDB's one DELETE statement may hold on PostgreSQL
        for start in range(0, mine, 6_000):
            await keys.insert_many([{"_id": f"dk-{uuid.uuid4().hex}" if n % 20 else uuid.uuid4(), "tenant": "leuven",
                                     "wrapped": os.urandom(40)} for n in range(6_000)], ordered=False)
        await keys.insert_many([{"_id": f"dk-{uuid.uuid4().hex}", "tenant": "heverlee"} for _ in range(50)])
        assert await delete_all(keys, {"tenant": "leuven"}) == mine
        assert await keys.count_documents({"tenant": "leuven"}) == 0
        assert await keys.count_documents({"tenant": "heverlee"}) == 50
    finally:
        await client.drop_database(keys.database.name)
        await client.close()
