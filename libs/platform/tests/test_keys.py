"""UUID-keyed documents carry their id as text, so the local store finds them without reading every document."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from pymongo import AsyncMongoClient

from helpt_platform.keys import (EACH_AT_MOST, ID_TEXT, add_id_text, backfill_job, by_id, by_ref, find_each, id_text_step,
                                 with_id_text)
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


async def test_a_reference_written_as_text_is_found_by_it_and_each_of_many_by_its_own_look_up(db):
    db, commands = db
    offers = db["offers"]
    asked, other = uuid.uuid4(), uuid.uuid4()
    volunteers = [uuid.uuid4() for _ in range(3)]
    await offers.insert_many([with_id_text({"_id": uuid.uuid4(), "request_id": asked, "volunteer_id": v, "status": "open"},
                                           "request_id", "volunteer_id") for v in volunteers]
                             + [with_id_text({"_id": uuid.uuid4(), "request_id": other, "volunteer_id": volunteers[0],
                                              "status": "declined"}, "request_id", "volunteer_id")])
    found = await offers.find(by_ref("request_id", asked, status="open")).to_list()
    assert sorted(map(str, (o["volunteer_id"] for o in found))) == sorted(map(str, volunteers))
    assert all(o["request_id_text"] == str(asked) and o["volunteer_id_text"] == str(o["volunteer_id"]) for o in found)
    assert await offers.find_one(by_ref("request_id", asked, status="declined")) is None

    commands.seen.clear()
    held = await find_each(offers, "volunteer_id", [volunteers[0], volunteers[1], volunteers[0]], {"request_id": 1})
    assert sorted(str(o["request_id"]) for o in held) == sorted([str(asked), str(other), str(asked)])
    looked = [f for name, coll, f in commands.seen if name == "find" and coll == "offers"]
    assert len(looked) == 2 and all(f["volunteer_id_text"] == str(f["volunteer_id"]) for f in looked)  # once per volunteer

    many = [uuid.uuid4() for _ in range(EACH_AT_MOST)] + volunteers[:2]
    commands.seen.clear()
    assert len(await find_each(offers, "volunteer_id", many)) == 3  # beyond the limit: one `$in`, the same answer
    assert len([1 for name, coll, _ in commands.seen if name == "find" and coll == "offers"]) == 1


async def test_a_backfill_gives_references_their_text_and_runs_each_step_once_it_has_run_through(db):
    db, _ = db
    offers = db["offers"]
    old, request = uuid.uuid4(), uuid.uuid4()
    await offers.insert_one({"_id": old, "id_text": str(old), "request_id": request, "organisation": None})
    assert await offers.find_one(by_ref("request_id", request)) is None  # written before: not found by its text
    runs = []

    async def counted(database):
        runs.append(database.name)
        return 0

    await backfill_job(id_text_step("offers", "request_id", "organisation"), counted)(SimpleNamespace(db=db))
    assert (await offers.find_one(by_ref("request_id", request)))["_id"] == old
    assert "organisation_text" not in await offers.find_one({"_id": old})  # only a UUID has a text twin
    assert runs == [db.name]
    assert await add_id_text(offers, "request_id") == 0  # nothing left to do
