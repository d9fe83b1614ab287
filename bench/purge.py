"""5. Purge: destroying the keys of N subjects (gdpr's KeyCustody on the real store), and the end of a crisis
through the running services until every receipt is in.

(a) `KeyCustody.destroy_tenant` on N data keys in FerretDB (a bench database, file tenant keys in the
    bench's state), beside a bare `drop` of a collection of N documents of the same shape (what the store
    needs at least to destroy them; custody also counts them for the report, and a bare count is in the notes).
(b) The real thing: N keys of the municipality `heverlee` in gdpr's own store (one sealed through gdpr's API,
    the rest inserted alike), two crisis leads approve over HTTP; the time of the second approval's answer
    (keys destroyed and the command announced) and until gdpr's report is complete (every receipt in).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx
from pymongo import AsyncMongoClient

from bench.common import Figure, ratio
from bench.pipeline import ensure
from bench.stack import BenchStack
from helpt_contracts.roles import Role
from helpt_gdpr.crypto import new_key, wrap_key
from helpt_gdpr.custody import KeyCustody, key_document
from helpt_gdpr.tenant_keys import FileTenantKeys
from helpt_platform.auth import issue_token

NAME = "5 purge"
BATCH = 5000


def key_docs(n: int, wrapped_len: int) -> list[dict]:
    """N keys as gdpr keeps them in a tenant's collection (random bytes in place of wrapped keys)."""
    return [key_document(f"dk-{uuid.uuid4().hex}", uuid.uuid4(), os.urandom(wrapped_len)) for _ in range(n)]


async def insert(coll, n: int, wrapped_len: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        await coll.insert_many(key_docs(min(BATCH, n - start), wrapped_len), ordered=False)
    return time.perf_counter() - t0


async def direct(stack: BenchStack, n: int) -> dict:
    client = AsyncMongoClient(stack.mongodb_url, uuidRepresentation="standard")
    db = client[f"bench_custody_{uuid.uuid4().hex[:6]}"]
    try:
        tenants = FileTenantKeys(stack.state_dir / "bench-tenant-keys")
        key = await tenants.create("bench")
        custody = KeyCustody(db, tenants)
        await custody.ensure_indexes()
        subject = uuid.uuid4()
        wrapped_len = len(wrap_key(key, "bench", subject, "dk-x", new_key()))
        await custody.key_for_sealing("bench", subject, new=True)  # the tenant's collection and index, as in service
        load_s = await insert(db[custody.collection_name("bench")], n - 1, wrapped_len)
        t0 = time.perf_counter()
        deleted, existed = await custody.destroy_tenant("bench")
        destroy_s = time.perf_counter() - t0
        await insert(db["plain"], n, wrapped_len)
        t0 = time.perf_counter()
        counted = await db["plain"].count_documents({})
        count_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        await db["plain"].drop()
        bare_s = time.perf_counter() - t0
        return {"destroy_s": destroy_s, "deleted": deleted, "existed": existed, "bare_s": bare_s, "count_s": count_s,
                "counted": counted, "load_s": load_s}
    finally:
        await client.drop_database(db.name)
        await client.close()


async def through_services(stack: BenchStack, n: int, deadline_s: float) -> dict:
    gdpr = stack.procs["gdpr"].url
    secret = stack.secret()
    def bearer(role: Role, sub: str) -> dict:
        return {"Authorization": f"Bearer {issue_token(secret, sub=sub, role=role, tenant='heverlee')}"}
    client = AsyncMongoClient(stack.mongodb_url, uuidRepresentation="standard")
    async with httpx.AsyncClient(timeout=600) as http:
        r = await http.post(f"{gdpr}/api/v1/seal", headers=bearer(Role.SERVICE, "intake"),
                            json={"tenant": "heverlee", "fields": {"phone": "+32 16 00 00 00"}})
        r.raise_for_status()
        keys = client["helpt_gdpr"]["data_keys.heverlee"]
        sample = await keys.find_one({})
        load_s = await insert(keys, n - 1, len(sample["wrapped"]))
        first = await http.post(f"{gdpr}/api/v1/crisis-end/approvals", json={"tenant": "heverlee"}, headers=bearer(Role.CRISIS_LEAD, "lead-a"))
        first.raise_for_status()
        t0 = time.perf_counter()
        second = await http.post(f"{gdpr}/api/v1/crisis-end/approvals", json={"tenant": "heverlee"}, headers=bearer(Role.CRISIS_LEAD, "lead-b"))
        answered_s = time.perf_counter() - t0
        second.raise_for_status()
        purge_id = second.json()["purge_id"]
        report = second.json()
        end = t0 + deadline_s
        while not report.get("complete") and time.perf_counter() < end:
            await asyncio.sleep(0.2)
            report = (await http.get(f"{gdpr}/api/v1/purges/{purge_id}", headers=bearer(Role.DPO, "dpo"))).json()
        complete_s = time.perf_counter() - t0
    await client.close()
    return {"answered_s": answered_s, "complete_s": complete_s, "complete": bool(report.get("complete")),
            "destroyed": report.get("destroyed_by_gdpr", {}), "missing": report.get("missing"), "load_s": load_s}


def run(stack: BenchStack, quick: bool, context: dict) -> list[Figure]:
    sizes = [10_000] if quick else [100_000, 1_000_000]
    ensure(stack, "gdpr", "intake", "screening", "matching")
    figures = []
    for n in sizes:
        d = asyncio.run(direct(stack, n))
        scaled = 30 * n / 1_000_000
        figures.append(Figure(NAME, f"custody.destroy_tenant, {n:,} keys", d["destroy_s"], "s", d["bare_s"],
                              "bare drop of a collection of as many same-shaped docs", ratio(d["destroy_s"], d["bare_s"]),
                              "custody/bare", "≤ 30 s for 1M" if n == 1_000_000 else f"(pro rata {scaled:.2g} s)",
                              d["destroy_s"] <= 30 if n == 1_000_000 else None,
                              f"deleted {d['deleted']:,}; a bare count of them took {d['count_s']:.1f} s; "
                              f"loading them took {d['load_s']:.1f} s"))
    n = sizes[-1]
    s = asyncio.run(through_services(stack, n, 600))
    figures.append(Figure(NAME, f"crisis purge via gdpr API, {n:,} keys: approval answered (keys destroyed, announced)",
                          s["answered_s"], "s", d["destroy_s"], "custody.destroy_tenant alone", ratio(s["answered_s"], d["destroy_s"]),
                          "service/custody", notes=f"destroyed {s['destroyed']}"))
    figures.append(Figure(NAME, f"crisis purge via gdpr API, {n:,} keys: until every receipt is in", s["complete_s"], "s",
                          s["answered_s"], "approval answered", ratio(s["complete_s"], s["answered_s"]), "complete/answered",
                          met=None, notes=f"complete={s['complete']}, missing={s['missing']}"))
    return figures
