"""The outbox relay on the real MongoDB-wire server: a claim with events is published from the queue, once, oldest
first, without reading every claim; a claim whose writer died before noting it is found by the sweep."""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.examples import help_requested
from helpt_platform.claims import claim
from helpt_platform.outbox import Relay, outbox_entry, queue_of
from helpt_platform.testing import StoreCommands

pytestmark = pytest.mark.infra


@pytest.fixture
async def store(infra, unique_name):
    commands = StoreCommands()
    name = f"relay_{unique_name}"[:60]
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", tz_aware=True, event_listeners=[commands])
    try:
        yield client[name], commands
    finally:
        await client.drop_database(name)
        await client.close()


def relay_of(claims, published: list) -> Relay:
    async def publish(event, envelope, topic) -> None:
        published.append((envelope.id, topic))

    return Relay(claims, publish, entries=lambda doc: doc.get("outbox", []), order=[("claimed_at", 1), ("_id", 1)])


async def decide(claims, key: str, **extra) -> uuid.UUID:
    event = help_requested()
    entry = outbox_entry(event, source="matching")
    assert await claim(claims, key, tenant="leuven", subject_ids=[event.subject_id], outbox=[entry], unsent=True, **extra)
    return uuid.UUID(entry["id"])


async def test_claims_with_events_go_out_once_oldest_first_from_the_queue_without_a_scan(store):
    db, commands = store
    claims, published = db["claims"], []
    relay = relay_of(claims, published)
    await relay.run_once(sweep=True)  # the first round's sweep, on an empty store
    for n in range(30):  # decisions already sent: the relay must not need to read them again
        await claims.insert_one({"_id": f"old:{n}", "tenant": "leuven", "subject_ids": [], "unsent": False})
    first = await decide(claims, "round:a:1")
    second = await decide(claims, "round:b:1")
    assert not await claim(claims, "round:a:1", tenant="leuven", subject_ids=[], unsent=True), "a claim is won once"
    assert await queue_of(claims).count_documents({}) == 2

    commands.seen.clear()
    assert await relay.run_once(sweep=False) == 2
    assert [event_id for event_id, _ in published] == [first, second]
    finds = [(collection, flt) for name, collection, flt in commands.seen if name == "find"]
    assert all(collection == "claims_queue" or set(flt) == {"_id"} for collection, flt in finds), finds
    assert await queue_of(claims).count_documents({}) == 0
    assert await claims.count_documents({"unsent": True}) == 0
    assert await relay.run_once(sweep=True) == 0, "nothing goes out twice"
    assert len(published) == 2


async def test_a_claim_whose_writer_died_before_noting_it_is_published_by_the_sweep(store):
    db, _ = store
    claims, published = db["claims"], []
    event = help_requested()
    entry = outbox_entry(event, source="matching")
    # The writer inserted its claim and died before its note reached the queue.
    await claims.insert_one({"_id": "winner:x", "tenant": "leuven", "subject_ids": [event.subject_id], "outbox": [entry],
                             "unsent": True})
    relay = relay_of(claims, published)
    assert await relay.run_once(sweep=False) == 0, "not in the queue: only the sweep finds it"
    assert await relay.run_once(sweep=True) == 1
    assert published == [(uuid.UUID(entry["id"]), event.TOPIC)]
    assert await relay.run_once() == 0
