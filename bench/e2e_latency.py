"""3. End-to-end latency: from a partner's help request (sent, answered 202) to `MatchProposed` on the partner's topic,
at a steady background load of API submissions, beside a bare Kafka round trip (acks=all produce → consume)
measured in the same seconds.

Approved dog walkers (guidelines confirmed) are pre-loaded as events. The background load alternates
offers of help and help requests for a task nobody approved offers (so they travel intake → screening →
matching without draining the dog walkers); its rate is what this machine sustains — half of benchmark 1's
one-process capacity, at most 200/s — and the rate reached is reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import Figure, percentile, ratio
from bench.kafka_util import create_topics, encoded, publish_all, wait_count
from bench.load import help_request_body, volunteer_body
from bench.pipeline import ensure
from bench.stack import BenchStack
from helpt_contracts import topics
from helpt_contracts.events import VolunteerApproved, VolunteerGuidelinesConfirmed
from helpt_contracts.examples import volunteer_registered
from helpt_contracts.roles import Role
from helpt_platform.auth import issue_token

NAME = "3 end-to-end latency"
ORG = "wit-gele-kruis"


def approved_walkers(n: int) -> list:
    out = []
    for _ in range(n):
        reg = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"], max_tasks_per_week=50)
        case = uuid.uuid4()
        out += [encoded(reg),
                encoded(VolunteerApproved(tenant="leuven", volunteer_id=reg.volunteer_id, case_id=case, reason="interview-ok"), "screening"),
                encoded(VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=reg.volunteer_id, case_id=case,
                                                     guidelines_version="2026-03", confirmed_at=dt.datetime.now(dt.UTC)), "screening")]
    return out


async def measure(stack: BenchStack, rate: float, probes: int, interval_s: float) -> dict:
    partner_topic = topics.partner_topic(ORG)
    bare_topic = f"bench.roundtrip.{uuid.uuid4().hex[:6]}"
    await create_topics(stack.bootstrap, partner_topic, bare_topic)
    proposed: dict[str, float] = {}
    bare_seen: dict[bytes, float] = {}
    consumer = AIOKafkaConsumer(partner_topic, bare_topic, bootstrap_servers=stack.bootstrap, auto_offset_reset="latest",
                                group_id=None, enable_auto_commit=False)
    await consumer.start()
    await asyncio.sleep(2)  # partitions assigned, positions at the end

    async def listen() -> None:
        async for msg in consumer:
            now = time.perf_counter()
            if msg.topic == bare_topic:
                bare_seen[msg.value] = now
                continue
            if b".MatchProposed." in dict(msg.headers).get("ce_type", b""):  # be.helpt.MatchProposed.v1
                body = json.loads(msg.value)
                proposed.setdefault(body["request_id"], now)

    listener = asyncio.create_task(listen())
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    token = issue_token(stack.secret(), sub="bench-partner", role=Role.PARTNER, tenant="leuven", organisation=ORG)
    url = stack.procs["intake"].url
    accepted: dict[str, float] = {}
    bare_sent: dict[bytes, float] = {}
    bg = {"sent": 0, "ok": 0, "statuses": {}}
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def background_one(i: int) -> None:
            path, body = ("/api/v1/volunteers", volunteer_body()) if i % 2 else ("/api/v1/help-requests", help_request_body())
            try:
                r = await client.post(url + path, json=body)
                bg["statuses"][r.status_code] = bg["statuses"].get(r.status_code, 0) + 1
                bg["ok"] += r.status_code == 202
            except httpx.HTTPError:
                bg["statuses"][-1] = bg["statuses"].get(-1, 0) + 1

        async def background() -> None:
            tasks, i, t0 = set(), 0, time.perf_counter()
            while not stop.is_set():
                task = asyncio.create_task(background_one(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
                bg["sent"] = i
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            await asyncio.gather(*tasks)

        async def probe(i: int) -> None:
            body = help_request_body(task="dog-walking", postcode="3001") | {"languages": ["en"]}
            # From the moment the request is sent: when the bench's own loop is busy it may see the 202 after
            # the proposal (one quick run read -1,000 ms), so the 202's arrival is no clock to start from.
            sent = time.perf_counter()
            r = await client.post(url + "/api/v1/help-requests", json=body,
                                  headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
            if r.status_code == 202:
                accepted[r.json()["id"]] = sent
            marker = uuid.uuid4().bytes
            bare_sent[marker] = time.perf_counter()
            await producer.send_and_wait(bare_topic, marker)

        load = asyncio.create_task(background())
        bg_t0 = time.perf_counter()
        await asyncio.sleep(2)  # the load is steady before the first probe
        probes_running = []
        for i in range(probes):
            probes_running.append(asyncio.create_task(probe(i)))
            await asyncio.sleep(interval_s)
        await asyncio.gather(*probes_running)
        stop.set()
        await load
        bg_s = time.perf_counter() - bg_t0
    end = time.perf_counter() + 30
    while time.perf_counter() < end and not set(accepted) <= set(proposed):
        await asyncio.sleep(0.2)
    listener.cancel()
    await consumer.stop()
    await producer.stop()
    lat = [(proposed[r] - t) * 1000 for r, t in accepted.items() if r in proposed]
    bare = [(bare_seen[m] - t) * 1000 for m, t in bare_sent.items() if m in bare_seen]
    return {"lat": lat, "bare": bare, "accepted": len(accepted), "probes": probes, "bg_rate": bg["ok"] / bg_s,
            "bg_target": rate, "bg_statuses": bg["statuses"]}


def run(stack: BenchStack, quick: bool, context: dict) -> list[Figure]:
    walkers, probes, interval = (30, 20, 0.25) if quick else (1000, 300, 0.2)
    ensure(stack, "gdpr", "intake", "screening", "matching")
    asyncio.run(publish_all(stack.bootstrap, approved_walkers(walkers)))
    got, _ = asyncio.run(wait_count(stack.mongodb_url, "helpt_matching", "volunteers",
                                    {"eligible": True, "tasks": "dog-walking"}, walkers, 300))
    rate = min(200.0, max(2.0, 0.5 * context.get("intake_one_rate", 10.0)))
    res = asyncio.run(measure(stack, rate, probes, interval))
    p50, p99 = percentile(res["lat"], 50), percentile(res["lat"], 99)
    b50, b99 = percentile(res["bare"], 50), percentile(res["bare"], 99)
    note = (f"background {res['bg_rate']:.1f}/s reached (aimed {res['bg_target']:.1f}/s; the issue's 200/s is beyond this "
            f"machine), statuses {res['bg_statuses']}; {len(res['lat'])}/{res['accepted']} probes proposed "
            f"({res['probes']} sent); {got} approved walkers")
    return [
        Figure(NAME, f"request → MatchProposed p50 @ {res['bg_rate']:.0f}/s", p50, "ms", b50, "bare Kafka round trip p50",
               ratio(p50, b50), "e2e/bare", notes=note),
        Figure(NAME, f"request → MatchProposed p99 @ {res['bg_rate']:.0f}/s", p99, "ms", b99, "bare Kafka round trip p99",
               ratio(p99, b99), "e2e/bare", "≤ 250 ms at 200/s",
               None if p99 is None else (p99 <= 250 and res["bg_rate"] >= 200), note),
    ]
