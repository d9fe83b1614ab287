"""Who came first, on the real MongoDB-wire server: every concurrent change lands, each claim is won once."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient

from helpt_platform.claims import VersionedDocuments, claim, release

pytestmark = pytest.mark.infra


@pytest.fixture
async def db(infra, unique_name):
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard")
    try:
        yield client[f"claims_{unique_name}"[:60]]
    finally:
        await client.drop_database(f"claims_{unique_name}"[:60])
        await client.close()


async def test_twenty_concurrent_writers_each_add_their_mark_and_none_is_lost(db):
    await db["docs"].insert_one({"_id": "case-1", "tenant": "leuven", "subject_ids": [], "marks": [], "version": 0})
    writer = VersionedDocuments(db["docs"], db["claims"], attempts=60)

    async def mark(n: int) -> None:
        await writer.write({"_id": "case-1"}, lambda doc: {"marks": [*doc["marks"], n]})

    await asyncio.gather(*(mark(n) for n in range(20)))
    doc = await db["docs"].find_one({"_id": "case-1"})
    assert sorted(doc["marks"]) == list(range(20)), "a lost update: a guarded update_one alone loses some on FerretDB"
    assert doc["version"] == 20
    assert await db["claims"].count_documents({"tenant": "leuven"}) == 20, "each change is a claim gdpr's purge finds"


async def test_a_claimed_change_whose_writer_died_is_caught_up_by_the_next(db):
    await db["docs"].insert_one({"_id": "case-2", "tenant": "leuven", "status": "received", "version": 0})
    assert await claim(db["claims"], "case-2:1", tenant="leuven", subject_ids=[],
                       changes=[{"field": "status", "value": "cancelled"}])  # claimed, then the writer died
    writer = VersionedDocuments(db["docs"], db["claims"])
    written = await writer.write({"_id": "case-2"}, lambda doc: {"seen_status": doc["status"]})
    assert written["version"] == 2 and written["seen_status"] == "cancelled", "the dead writer's change came first"


async def test_a_one_off_claim_is_won_once_and_can_be_given_back(db):
    results = await asyncio.gather(*(claim(db["once"], "mail-9", tenant="leuven") for _ in range(10)))
    assert results.count(True) == 1
    await release(db["once"], "mail-9")
    assert await claim(db["once"], "mail-9", tenant="leuven")
