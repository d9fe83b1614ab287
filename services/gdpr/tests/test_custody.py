"""Data keys on the real store: each municipality's in a collection of its own, dropped whole at the end of its
crisis; keys kept the earlier way (one shared collection) are moved and still open; a seal that races the purge
leaves no key behind."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_gdpr.crypto import new_key, wrap_key
from helpt_gdpr.custody import KeyCustody, TenantUnavailable
from helpt_gdpr.tenant_keys import FileTenantKeys

pytestmark = pytest.mark.infra


@pytest.fixture
async def store(infra, unique_name, tmp_path):
    """(database, tenant keys with leuven and heverlee) on the real store."""
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", tz_aware=True)
    db = client[f"{unique_name}_custody".replace("-", "_")]
    tenants = FileTenantKeys(tmp_path / "keys")
    for tenant in ("leuven", "heverlee"):
        await tenants.create(tenant)
    yield db, tenants
    await client.drop_database(db.name)
    await client.close()


async def test_ending_one_crisis_drops_that_municipalitys_keys_and_leaves_the_others_opening(store):
    db, tenants = store
    custody = KeyCustody(db, tenants)
    await custody.ensure_indexes()
    sealed = {tenant: [(subject := uuid.uuid4(), *await custody.key_for_sealing(tenant, subject, new=True)) for _ in range(3)]
              for tenant in ("leuven", "heverlee")}
    assert {name for name in await db.list_collection_names() if name.startswith("data_keys.")} == {"data_keys.leuven", "data_keys.heverlee"}

    assert await custody.destroy_tenant("leuven") == (3, True)

    assert "data_keys.leuven" not in await db.list_collection_names()
    assert not await custody.holds_any("leuven") and await tenants.get("leuven") is None
    with pytest.raises(TenantUnavailable):
        await custody.key_for_opening("leuven", sealed["leuven"][0][0], sealed["leuven"][0][1])
    for subject, kid, key in sealed["heverlee"]:
        assert await custody.key_for_opening("heverlee", subject, kid) == key
        assert await custody.key_for_sealing("heverlee", subject) == (kid, key), "a known subject keeps their key"
    assert await custody.count("heverlee") == 3 and await custody.holds_any("heverlee")
    assert await custody.destroy_tenant("leuven") == (0, False), "a second purge finds nothing, and says so"


async def test_keys_kept_in_the_shared_collection_before_are_moved_and_still_open(store):
    db, tenants = store
    legacy = {}
    for tenant in ("leuven", "heverlee"):
        tenant_key = await tenants.get(tenant)
        for _ in range(2):
            subject, kid, key = uuid.uuid4(), f"dk-{uuid.uuid4().hex}", new_key()
            await db["data_keys"].insert_one({"_id": kid, "tenant": tenant, "subject_id": subject,
                                              "wrapped": wrap_key(tenant_key, tenant, subject, kid, key),
                                              "created_at": dt.datetime.now(dt.UTC)})
            legacy[kid] = (tenant, subject, key)
    # One subject got a second key in the new place before the move (another replica on the new code):
    # their earlier key cannot move beside it, and must not be lost.
    clash_kid = next(kid for kid, (tenant, _, _) in legacy.items() if tenant == "heverlee")
    clash_subject = legacy[clash_kid][1]
    early = KeyCustody(db, tenants)
    newer_kid, newer_key = await early.key_for_sealing("heverlee", clash_subject, new=True)

    custody = KeyCustody(db, tenants)
    await custody.ensure_indexes()

    assert await db["data_keys"].distinct("_id") == [clash_kid], "every other key moved"
    assert await db["data_keys.leuven"].count_documents({}) == 2 and await db["data_keys.heverlee"].count_documents({}) == 2
    for kid, (tenant, subject, key) in legacy.items():
        assert await custody.key_for_opening(tenant, subject, kid) == key, "data sealed before the move still opens"
    assert await custody.key_for_opening("heverlee", clash_subject, newer_kid) == newer_key
    assert await custody.count_subject("heverlee", clash_subject) == 2

    await custody.ensure_indexes()  # a restart moves nothing twice and loses nothing
    assert await custody.count("leuven") == 2 and await custody.count("heverlee") == 3

    assert await custody.destroy_subject("heverlee", clash_subject) == 2, "an erasure destroys both of their keys"
    assert await custody.destroy_tenant("heverlee") == (1, True)
    assert await db["data_keys"].count_documents({"tenant": "heverlee"}) == 0 and await custody.count("leuven") == 2


async def test_keys_written_in_the_earlier_longer_shape_still_open_and_are_destroyed_with_their_subject(store):
    """Before the key documents were trimmed (ADR 0019), a tenant's collection held keys with the tenant, a creation
    time and the subject as a UUID: their subjects keep those keys, and erasure and the purge still find them."""
    db, tenants = store
    custody = KeyCustody(db, tenants)
    await custody.ensure_indexes()
    tenant_key = await tenants.get("leuven")
    subject, kid, key = uuid.uuid4(), f"dk-{uuid.uuid4().hex}", new_key()
    await custody.key_for_sealing("leuven", uuid.uuid4(), new=True)  # the collection and its index, as before
    await db["data_keys.leuven"].insert_one({"_id": kid, "tenant": "leuven", "subject_id": subject,
                                             "wrapped": wrap_key(tenant_key, "leuven", subject, kid, key),
                                             "created_at": dt.datetime.now(dt.UTC)})

    assert await custody.key_for_opening("leuven", subject, kid) == key
    assert await custody.key_for_sealing("leuven", subject) == (kid, key), "no second key for a known subject"
    assert await custody.key_for_opening("leuven", uuid.uuid4(), kid) is None, "another subject cannot open it"
    assert await custody.count_subject("leuven", subject) == 1 and await custody.count("leuven") == 2

    assert await custody.destroy_subject("leuven", subject) == 1
    assert await custody.key_for_opening("leuven", subject, kid) is None
    assert await custody.destroy_tenant("leuven") == (1, True)


async def test_a_key_is_kept_as_its_id_the_subject_as_text_and_the_wrapped_key_alone(store):
    """Every field of a key document is decoded again when the purge counts a million of them (ADR 0019)."""
    db, tenants = store
    custody = KeyCustody(db, tenants)
    subject = uuid.uuid4()
    kid, key = await custody.key_for_sealing("heverlee", subject, new=True)

    doc = await db["data_keys.heverlee"].find_one({"_id": kid})
    assert set(doc) == {"_id", "subject_id", "wrapped"} and doc["subject_id"] == str(subject)
    assert await custody.key_for_opening("heverlee", subject, kid) == key


class PurgedMeanwhile:
    """Tenant keys whose tenant is purged right after a seal fetched its key."""

    def __init__(self, inner: FileTenantKeys) -> None:
        self.inner = inner
        self.gets = 0

    async def get(self, tenant: str) -> bytes | None:
        self.gets += 1
        key = await self.inner.get(tenant)
        if self.gets == 1:
            await self.inner.destroy(tenant)
        return key

    async def destroy(self, tenant: str) -> bool:
        return await self.inner.destroy(tenant)


async def test_a_seal_that_races_the_end_of_the_crisis_leaves_no_key_behind(store):
    db, tenants = store
    custody = KeyCustody(db, PurgedMeanwhile(tenants))  # type: ignore[arg-type]
    await custody.ensure_indexes()

    with pytest.raises(TenantUnavailable):
        await custody.key_for_sealing("leuven", uuid.uuid4(), new=True)

    assert await db["data_keys.leuven"].count_documents({}) == 0
    assert not await custody.holds_any("leuven")
