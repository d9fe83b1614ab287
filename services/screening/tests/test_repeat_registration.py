"""A repeat registration (the same phone number or e-mail address, by gdpr's blind index) is flagged with the
earlier cases, found without reading every case: FerretDB 1.24 answers a query on `cases.contact_index` by
decoding every case, on every registration. Drives the `CaseStore` in-process on the real store."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.examples import volunteer_registered
from helpt_screening.cases import Applied, CaseStore
from helpt_screening.domain import default_requirements
from helpt_platform.testing import StoreCommands

PHONE, EMAIL, OTHER = "p" * 32, "e" * 32, "o" * 32


@pytest.fixture
async def store(infra):
    commands = StoreCommands()
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True, uuidRepresentation="standard", event_listeners=[commands])
    db = client[f"helpt_screening_repeat_{uuid.uuid4().hex[:8]}"]
    yield CaseStore(db, default_requirements()), db, commands
    await client.drop_database(db.name)
    await client.close()


def flags(case: dict) -> list[str]:
    return sorted(f["detail"] for f in case["flags"] if f["code"] == "repeat-registration")


async def register(cases: CaseStore, *index: str, event=None):
    event = event or volunteer_registered(tasks=["shopping"], postcode="3000", contact_index=list(index))
    return event, await cases.apply(uuid.uuid4(), dt.datetime.now(dt.UTC), event)


@pytest.mark.infra
async def test_a_repeat_registration_is_flagged_with_each_earlier_case_and_only_ids_are_looked_up(store):
    cases, db, commands = store
    first, _ = await register(cases, PHONE)
    commands.seen.clear()
    second, _ = await register(cases, PHONE, EMAIL)
    third, _ = await register(cases, EMAIL, OTHER)
    assert not [c for c in commands.seen if c[0] in ("find", "count", "aggregate") and (c[1] == "cases" or set(c[2] or {}) != {"_id"})], \
        commands.seen
    held = {doc["_id"]: doc async for doc in db["cases"].find({})}
    assert flags(held[first.volunteer_id]) == []
    assert flags(held[second.volunteer_id]) == [str(first.volunteer_id)]
    assert flags(held[third.volunteer_id]) == [str(second.volunteer_id)]
    # Every holder can be erased with its subject, and purged with its tenant.
    async for holder in db["contacts"].find({}):
        assert holder["tenant"] == "leuven" and holder["subject_ids"]

    # A redelivery opens nothing and does not find the case itself as an earlier one.
    _, again = await register(cases, event=second)
    assert again is Applied.REPEATED
    assert flags(await db["cases"].find_one({"_id": second.volunteer_id})) == [str(first.volunteer_id)]


@pytest.mark.infra
async def test_two_registrations_of_one_person_at_once_see_each_other_exactly_once(store):
    cases, db, _ = store
    (a, _), (b, _) = await asyncio.gather(register(cases, PHONE), register(cases, PHONE))
    found = [flags(await db["cases"].find_one({"_id": e.volunteer_id})) for e in (a, b)]
    assert sorted(found, key=len) == [[], [str(a.volunteer_id if found[1] else b.volunteer_id)]], found
    assert await db["contacts"].count_documents({}) == 2
