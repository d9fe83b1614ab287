"""Erasure and the end-of-crisis purge when things break: Kafka down, a crash half-way, approvals at the same moment."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.events import CrisisPurgeRequested, SubjectErasureRequested, SubjectKind
from helpt_contracts.roles import Role
from helpt_gdpr.actions import Actions
from helpt_gdpr.audit import AuditLog, now_ms
from helpt_gdpr.custody import KeyCustody
from helpt_gdpr.keeper import Keeper
from helpt_gdpr.purges import Purges
from helpt_gdpr.tenant_keys import FileTenantKeys
from helpt_platform.auth import Principal

pytestmark = pytest.mark.infra


class FlakyKafka:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[object] = []

    async def publish(self, event: object) -> None:
        if not self.up:
            raise ConnectionError("broker unreachable")
        self.sent.append(event)


async def test_an_erasure_during_a_kafka_outage_destroys_the_key_now_and_is_announced_later(infra, unique_name, tmp_path):
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", tz_aware=True)
    try:
        db = client[f"{unique_name}_gdpr".replace("-", "_")]
        tenant_keys = FileTenantKeys(tmp_path / "keys")
        await tenant_keys.create("leuven")
        keeper = Keeper(KeyCustody(db, tenant_keys), AuditLog(db["audit"]), Actions(db["actions"]))
        await keeper.audit.ensure_indexes()
        kafka = FlakyKafka()
        purges = Purges(db, keeper, kafka.publish, ("leuven",))
        subject = uuid.uuid4()
        await keeper.custody.key_for_sealing("leuven", subject)
        dpo = Principal(sub="dpo-1", role=Role.DPO, tenant="leuven")

        report = await purges.erase_subject(dpo, subject, SubjectKind.REQUESTER)

        assert report["announced"] is False and report["complete"] is False
        assert await keeper.custody.count_subject("leuven", subject) == 0, "the key goes at once, outage or not"
        assert await purges.announce_pending() == 0, "still down: the background job tries again later"
        assert kafka.sent == []
        kafka.up = True
        assert await purges.announce_pending() == 1
        (sent,) = kafka.sent
        assert isinstance(sent, SubjectErasureRequested) and sent.subject_id == subject
        assert (await purges.report("leuven", sent.purge_id))["announced"] is True
        assert await purges.announce_pending() == 0, "announced once, not again"
    finally:
        await client.close()


@pytest.fixture
async def gdpr_parts(infra, unique_name, tmp_path):
    """(db, keeper, kafka that is up, Purges) on the real store."""
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", tz_aware=True)
    db = client[f"{unique_name}_gdpr".replace("-", "_")]
    tenant_keys = FileTenantKeys(tmp_path / "keys")
    await tenant_keys.create("leuven")
    keeper = Keeper(KeyCustody(db, tenant_keys), AuditLog(db["audit"]), Actions(db["actions"]))
    await keeper.audit.ensure_indexes()
    kafka = FlakyKafka()
    kafka.up = True
    yield db, keeper, kafka, Purges(db, keeper, kafka.publish, ("leuven",))
    await client.close()


async def test_an_erasure_that_crashed_before_destroying_the_key_is_finished_by_the_background_job(gdpr_parts, monkeypatch):
    db, keeper, kafka, purges = gdpr_parts
    subject = uuid.uuid4()
    await keeper.custody.key_for_sealing("leuven", subject)
    real = keeper.custody.destroy_subject

    async def killed(*_args):
        raise ConnectionError("the process died here")

    monkeypatch.setattr(keeper.custody, "destroy_subject", killed)
    with pytest.raises(ConnectionError):
        await purges.erase_subject(Principal(sub="dpo-1", role=Role.DPO, tenant="leuven"), subject, SubjectKind.VOLUNTEER)
    assert await keeper.custody.count_subject("leuven", subject) == 1 and kafka.sent == []

    monkeypatch.setattr(keeper.custody, "destroy_subject", real)
    assert await purges.announce_pending() == 1
    assert await keeper.custody.count_subject("leuven", subject) == 0, "the erasure asked for is carried out"
    (sent,) = kafka.sent
    assert isinstance(sent, SubjectErasureRequested) and sent.subject_id == subject
    report = await purges.report("leuven", sent.purge_id)
    assert report["announced"] and report["destroyed_by_gdpr"]["data_keys"] == 1
    assert await purges.announce_pending() == 0


async def test_a_double_click_is_one_approval_and_two_second_approvals_at_once_start_one_purge(gdpr_parts):
    db, keeper, kafka, purges = gdpr_parts
    for _ in range(3):
        await keeper.custody.key_for_sealing("leuven", uuid.uuid4())
    lead = {name: Principal(sub=name, role=Role.CRISIS_LEAD, tenant="leuven") for name in ("lead-a", "lead-b", "lead-c")}

    async def approve(who):
        try:
            return await purges.approve_crisis_end(who, "leuven")
        except Exception as exc:  # noqa: BLE001 - a refusal is an outcome here
            return exc

    double = await asyncio.gather(*(approve(lead["lead-a"]) for _ in range(4)))
    assert [r["status"] for r in double if isinstance(r, dict)] == ["awaiting-second-approval"]
    assert all(getattr(r, "status", None) == 409 for r in double if not isinstance(r, dict)), double
    assert await keeper.custody.count("leuven") == 3, "one person cannot end the crisis by clicking twice"

    seconds = await asyncio.gather(approve(lead["lead-b"]), approve(lead["lead-c"]), approve(lead["lead-b"]))
    started = [r for r in seconds if isinstance(r, dict) and "purge_id" in r]
    assert len(started) == 1, seconds
    assert all(getattr(r, "status", None) in (409, 410) for r in seconds if r is not started[0]), seconds
    assert await keeper.custody.count("leuven") == 0
    assert [type(e) for e in kafka.sent] == [CrisisPurgeRequested]
    assert (await approve(lead["lead-a"])).status == 410


async def test_a_tenant_tombstoned_by_a_purge_that_crashed_at_once_is_still_purged(gdpr_parts, monkeypatch):
    db, keeper, kafka, purges = gdpr_parts
    await keeper.custody.key_for_sealing("leuven", uuid.uuid4())
    for name in ("lead-a", "lead-b"):
        await db["purge_approvals"].insert_one({"_id": f"leuven:{name}", "tenant": "leuven", "by": name,
                                                "at": now_ms()})

    async def killed(*_args, **_kwargs):
        raise ConnectionError("the process died here")

    monkeypatch.setattr(purges, "_record", killed)
    with pytest.raises(ConnectionError):
        await purges.approve_crisis_end(Principal(sub="lead-c", role=Role.CRISIS_LEAD, tenant="leuven"), "leuven")
    assert await db["purged_tenants"].count_documents({}) == 1 and await keeper.custody.count("leuven") == 1
    monkeypatch.undo()

    assert await purges.announce_pending() == 1
    assert await keeper.custody.count("leuven") == 0
    (sent,) = kafka.sent
    assert isinstance(sent, CrisisPurgeRequested) and sent.tenant == "leuven"


async def test_the_background_job_and_the_approval_carrying_out_one_purge_at_once_report_each_key_once(gdpr_parts, monkeypatch):
    db, keeper, kafka, purges = gdpr_parts
    for _ in range(3):
        await keeper.custody.key_for_sealing("leuven", uuid.uuid4())
    await purges.approve_crisis_end(Principal(sub="lead-a", role=Role.CRISIS_LEAD, tenant="leuven"), "leuven")
    entered, go_on = asyncio.Event(), asyncio.Event()
    real = keeper.custody.destroy_tenant

    async def slow(tenant):  # a million keys take a while to count: the background job comes by meanwhile
        entered.set()
        await go_on.wait()
        return await real(tenant)

    monkeypatch.setattr(keeper.custody, "destroy_tenant", slow)
    second = asyncio.create_task(purges.approve_crisis_end(Principal(sub="lead-b", role=Role.CRISIS_LEAD, tenant="leuven"), "leuven"))
    await entered.wait()
    background = asyncio.create_task(purges.announce_pending())
    await asyncio.sleep(0.2)
    go_on.set()
    report, _ = await asyncio.gather(second, background)

    assert report["destroyed_by_gdpr"]["data_keys"] == 3 and report["destroyed_by_gdpr"]["tenant_key"] == 1, report
    assert [type(e) for e in kafka.sent] == [CrisisPurgeRequested], "announced once"
