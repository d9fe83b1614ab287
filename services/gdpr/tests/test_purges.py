"""Erasure when Kafka is down: the key is destroyed at once, and the announcement follows when it can."""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient

from helpt_contracts.events import SubjectErasureRequested, SubjectKind
from helpt_contracts.roles import Role
from helpt_gdpr.actions import Actions
from helpt_gdpr.audit import AuditLog
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
        keeper = Keeper(KeyCustody(db["data_keys"], tenant_keys), AuditLog(db["audit"]), Actions(db["actions"]))
        await keeper.audit.ensure_indexes()
        kafka = FlakyKafka()
        purges = Purges(db, keeper, kafka.publish, ("leuven",))
        subject = uuid.uuid4()
        await keeper.custody.key_for_sealing("leuven", subject)
        dpo = Principal(sub="dpo-1", role=Role.DPO, tenant="leuven")

        report = await purges.erase_subject(dpo, subject, SubjectKind.REQUESTER)

        assert report["announced"] is False and report["complete"] is False
        assert await keeper.custody.count_subject("leuven", subject) == 0, "the key goes at once, outage or not"
        with pytest.raises(ConnectionError):  # still down: the background job will try again
            await purges.announce_pending()
        assert kafka.sent == []
        kafka.up = True
        assert await purges.announce_pending() == 1
        (sent,) = kafka.sent
        assert isinstance(sent, SubjectErasureRequested) and sent.subject_id == subject
        assert (await purges.report("leuven", sent.purge_id))["announced"] is True
        assert await purges.announce_pending() == 0, "announced once, not again"
    finally:
        await client.close()
