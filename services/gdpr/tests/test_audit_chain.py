"""The audit chain on the real store when two gdpr processes append to one municipality's log at once."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient

from helpt_gdpr.audit import AuditLog

pytestmark = pytest.mark.infra


async def test_two_processes_appending_at_once_keep_one_unbroken_chain(infra, unique_name):
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard", tz_aware=True)
    try:
        records = client[f"{unique_name}_gdpr".replace("-", "_")]["audit"]
        first, second = AuditLog(records), AuditLog(records)  # each remembers the head it last wrote
        await first.ensure_indexes()
        await first.append("leuven", "seal", "done", actor="intake")  # the second has not seen this one

        async def burst(log: AuditLog, actor: str) -> None:
            for _ in range(15):
                await log.append("leuven", "seal", "done", actor=actor)

        await asyncio.gather(burst(first, "one"), burst(second, "two"))
        await first.append("heverlee", "seal", "done", actor="intake")
        report = await second.verify("leuven")
        assert (report.intact, report.records, report.first_broken_seq) == (True, 31, None)
        assert sorted([r["seq"] async for r in records.find({"tenant": "leuven"})]) == list(range(1, 32))
        assert (await first.verify("heverlee")).records == 1
    finally:
        await client.close()
