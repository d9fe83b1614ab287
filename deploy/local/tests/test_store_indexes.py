"""The store answers look-ups from indexes: on FerretDB's PostgreSQL store through the GIN twins the stack adds."""

from __future__ import annotations

import json
import uuid

import pytest
from pymongo import ASCENDING, AsyncMongoClient

pytestmark = pytest.mark.infra


def _plan(explained: dict) -> str:
    return json.dumps(explained.get("queryPlanner", explained), default=str)


async def test_a_look_up_by_id_or_by_an_indexed_field_is_answered_from_an_index_not_a_scan(infra, unique_name):
    client = AsyncMongoClient(infra.mongodb_url, uuidRepresentation="standard")
    db = client[f"helpt_{unique_name}".replace("-", "_")]
    try:
        cases = db["cases"]
        await cases.create_index([("tenant", ASCENDING), ("reference", ASCENDING)], unique=True)
        await cases.insert_many([{"_id": f"case-{n}", "tenant": "leuven", "reference": f"H-{n:05}", "note": uuid.uuid4().hex}
                                 for n in range(3_000)])
        for wanted in ({"_id": "case-1234"}, {"tenant": "leuven", "reference": "H-02345"}):
            assert await cases.count_documents(wanted) == 1
            explained = await db.command("explain", {"find": "cases", "filter": wanted})
            plan = _plan(explained)
            if "ferretdbVersion" in explained.get("serverInfo", {}):
                # PostgreSQL's own plan: a scan of the table would say "Seq Scan" and name no index.
                assert "Seq Scan" not in plan and '"Index Name": "helpt_gin_' in plan, plan
            else:
                assert any(stage in plan for stage in ("IXSCAN", "IDHACK", "EXPRESS")), plan
    finally:
        await client.drop_database(db.name)
        await client.close()
