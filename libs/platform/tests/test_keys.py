"""UUID-keyed documents carry their id as text, so the local store finds them without reading every document."""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_platform.keys import ID_TEXT, add_id_text, by_id, with_id_text
from helpt_platform.testing import StoreCommands


@pytest.fixture
async def db(infra, unique_name):
    commands = StoreCommands()
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", event_listeners=[commands])
    database = client[f"keys_{unique_name}"[:60]]
    try:
        yield database, commands
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_a_document_written_with_its_id_as_text_is_found_changed_and_deleted_by_it(db):
    db, commands = db
    cases = db["cases"]
    mine, other = uuid.uuid4(), uuid.uuid4()
    await cases.insert_many([with_id_text({"_id": mine, "tenant": "leuven", "status": "received"}),
                             with_id_text({"_id": other, "tenant": "heverlee", "status": "received"})])
    assert (await cases.find_one(by_id(mine, tenant="leuven")))["status"] == "received"
    assert await cases.find_one(by_id(mine, tenant="heverlee")) is None  # the other conditions still hold
    await cases.update_one(by_id(mine), {"$set": {"status": "matched"}})
    assert (await cases.find_one(by_id(mine)))["status"] == "matched"
    assert (await cases.find_one(by_id(other)))["status"] == "received"
    await cases.delete_one(by_id(mine))
    filters = [f for name, coll, f in commands.seen if name == "find" and coll == "cases" and f and "_id" in f]
    assert len(filters) == 4 and all(f[ID_TEXT] == str(f["_id"]) for f in filters)  # each look-up says the id as text too
    assert await cases.find_one({"_id": mine}) is None and await cases.count_documents({}) == 1


async def test_documents_written_before_get_their_id_as_text_once_and_are_then_found(db):
    db, _ = db
    cases = db["cases"]
    old, named = uuid.uuid4(), "pending:1"
    await cases.insert_many([{"_id": old, "tenant": "leuven"}, {"_id": named, "tenant": "leuven"}])
    assert await cases.find_one(by_id(old)) is None  # what the migration is for
    assert await add_id_text(cases) == 1
    assert await add_id_text(cases) == 0
    assert (await cases.find_one(by_id(old)))["tenant"] == "leuven"
    assert await cases.find_one(by_id(named)) == {"_id": named, "tenant": "leuven"}  # a string id is left as it is
