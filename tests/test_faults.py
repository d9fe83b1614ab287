"""Fault tests: the real processes of `make run`, killed and starved mid-stream, lose nothing and do nothing twice.

One LocalStack (Kafka and FerretDB on ports of their own, a state dir of their own) and the four
services as child processes, exactly as `make run` starts them. A stream of requests and offers goes
through intake's JSON API the way a client does it: the same Idempotency-Key again until a 202.
Screeners approve the volunteers through screening's API, volunteers race to accept offers through
their links. Meanwhile each service is killed with SIGKILL and started again, Kafka is stopped and
started, and the store is stopped and started. Afterwards Kafka, intake, screening and matching must
agree: every acknowledged submission has its event and its case, every event was applied once.

`HELPT_FAULT_EVENTS` sets the size of the stream: `make faults` sends 2,000; `make test` (and CI) 100 by default.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from helpt_contracts import topics
from helpt_contracts.roles import Role
from helpt_localstack import services as localservices
from helpt_localstack.health import in_fresh_thread, wait_healthy
from helpt_localstack import ferretdb as ferret, kafka as kafkatools
from helpt_localstack.paths import find_repo_root, free_port
from helpt_localstack.procs import signal_group, stop_all
from helpt_localstack.stack import LocalStack
from helpt_localstack.tools import check_tools, ensure_ferretdb, ensure_kafka
from helpt_platform.auth import issue_token, local_secret

pytestmark = [pytest.mark.infra, pytest.mark.faults]

EVENTS = int(os.environ.get("HELPT_FAULT_EVENTS", "100"))  # make faults: 2000; make test (CI): 100
SERVICES = ("intake", "screening", "matching", "gdpr")
TASK = "phone-chat"  # not a visit: approved volunteers are offered it without confirming the guidelines
CANARY = "Canary Faulty"
CLIENT_DEADLINE_S = 300.0  # a client keeps retrying one submission this long
SETTLE_DEADLINE_S = 300.0
STOPPING = threading.Event()  # set when the stack goes: clients still retrying stop, so a failed run ends


# --- the stack ----------------------------------------------------------------------------------------


@dataclass
class Stack:
    local: LocalStack
    services: dict[str, localservices.Service]
    envs: dict[str, dict[str, str]]
    secret: bytes

    def url(self, name: str) -> str:
        return self.services[name].url

    def token(self, role: Role, sub: str, organisation: str | None = None) -> str:
        return issue_token(self.secret, sub=sub, role=role, tenant="leuven", organisation=organisation)

    def start(self, name: str) -> None:
        service = self.services[name]
        service.managed.start([sys.executable, "-m", service.module], self.local.state_dir, env=self.envs[name])

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook, no flush, no commit — a crash."""
        process = self.services[name].managed.process
        assert process is not None and process.poll() is None, f"{name} should be running"
        signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def wait_ready(self, names: tuple[str, ...] = SERVICES) -> None:
        localservices.wait_ready([self.services[n] for n in names], deadline_s=120)

    def stop_kafka(self) -> None:
        stop_all([self.local.kafka], self.local.state_dir, 30)

    def start_kafka(self) -> None:
        java = check_tools(["java"])["java"]
        self.local._start_kafka(java, ensure_kafka() / "libs")
        wait_healthy(self.local.kafka, "Kafka", 120, self.local.kafka_port,
                     lambda t: in_fresh_thread(lambda: kafkatools.check_round_trip(self.local.bootstrap_servers, t)))

    def stop_store(self) -> None:
        stop_all([self.local.ferretdb], self.local.state_dir, 30)

    def start_store(self) -> None:
        self.local._start_ferretdb(ensure_ferretdb())
        wait_healthy(self.local.ferretdb, "FerretDB", 60, self.local.mongodb_port,
                     lambda t: ferret.check_insert_find(self.local.mongodb_url, t))

    def log_lines(self, name: str) -> list[dict]:
        lines = []
        for raw in self.services[name].managed.log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
        return lines


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Not under pytest's tmp dir: other sessions on the machine rotate those away, data files and all.
    base = find_repo_root() / ".state"
    base.mkdir(parents=True, exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix="faults-", dir=base))
    local = LocalStack(state_dir, kafka_port=0, kafka_controller_port=0, mongodb_port=0)
    local.start()  # a stack that cannot start fails the test here, loudly
    ports = {name: free_port() for name in SERVICES}
    planned = {s.name: s for s in localservices.plan(state_dir, ports)}
    for name, service in planned.items():
        service.port = ports[name]
    gdpr_url = planned["gdpr"].url
    envs = {}
    for name, service in planned.items():
        env = localservices.service_env(service, local.bootstrap_servers, local.mongodb_url, state_dir, gdpr_url)
        env.update({
            "HELPT_INTAKE_SMTP_PORT": "0", "HELPT_MATCHING_SMTP_PORT": "0",  # no mail in and out: not what is tested
            "HELPT_INTAKE_FORM_RATE_LIMIT": "1000000",
            # one test client sends the whole stream from one address: the per-address write limit would refuse it
            **{f"HELPT_{svc}_WRITE_RATE_LIMIT": "0" for svc in ("INTAKE", "SCREENING", "MATCHING", "GDPR")},
            "HELPT_MATCHING_EXPIRY_INTERVAL_S": "2",  # requests that came before their volunteers are offered soon
            "HELPT_MATCHING_RELAY_INTERVAL_S": "1", "HELPT_SCREENING_RELAY_INTERVAL_S": "1",
            "HELPT_INTAKE_OUTBOX_GRACE_S": "60", "HELPT_INTAKE_RELAY_INTERVAL_S": "2",  # a killed intake's cases go out soon
            "HELPT_LOG_LEVEL": "INFO", "HELPT_TOPIC_PREFIX": "",
            f"HELPT_{name.upper()}_HTTP_PORT": str(ports[name]),
        })
        envs[name] = env
    built = Stack(local, planned, envs, local_secret(state_dir / "jwt.secret"))
    STOPPING.clear()
    try:
        for name in ("gdpr", "intake", "screening", "matching"):
            built.start(name)
        built.wait_ready()
        yield built
    finally:
        STOPPING.set()
        localservices.stop(list(planned.values()), state_dir)
        local.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


# --- the stream: clients that retry with the same key until a 202 -------------------------------------


@dataclass
class Ledger:
    """What the clients were told: 202s (with the ids), and every other answer on the way."""

    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (kind, id)
    refused: Counter = field(default_factory=Counter)  # status (0: no connection) → count
    gave_up: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    watchers: list[Callable[[str, str], None]] = field(default_factory=list)
    futures: list = field(default_factory=list)

    def ids(self, kind: str) -> set[str]:
        with self.lock:
            return {i for k, i in self.acked.values() if k == kind}


def submission(n: int, run: str) -> tuple[str, str, dict]:
    contact = {"name": f"{CANARY} {n}", "email": f"canary-{run}-{n}@example.org"}
    if n % 2:
        return "request", f"{run}-r{n}", {"task": TASK, "postcode": "3000", "languages": ["nl"], "consent": True,
                                         "contact": contact}
    return "volunteer", f"{run}-v{n}", {"tasks": [TASK], "postcode": "3000", "languages": ["nl", "en"],
                                       "is_adult": True, "consent": True, "max_tasks_per_week": 50, "contact": contact}


def send(stack: Stack, ledger: Ledger, kind: str, key: str, body: dict, token: str) -> None:
    path = "/api/v1/help-requests" if kind == "request" else "/api/v1/volunteers"
    deadline = time.monotonic() + CLIENT_DEADLINE_S
    headers = {"Idempotency-Key": key, "Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.url("intake"), timeout=90) as client:
        while time.monotonic() < deadline and not STOPPING.is_set():
            try:
                answer = client.post(path, json=body, headers=headers)
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            if status == 202:
                ident = answer.json()["id"]
                with ledger.lock:
                    ledger.acked[key] = (kind, ident)
                for watch in ledger.watchers:
                    watch(kind, ident)
                return
            assert status in (0, 409, 503), f"{path} answered {status}: {answer.text[:300]}"
            with ledger.lock:
                ledger.refused[status] += 1
            time.sleep(0.2 + random.random() * 0.3)
    with ledger.lock:
        ledger.gave_up.append(key)


def stream(stack: Stack, ledger: Ledger, count: int, run: str, workers: int = 6) -> ThreadPoolExecutor:
    """Start sending `count` submissions with `workers` clients; the executor finishes when all are answered."""
    operator = stack.token(Role.OPERATOR, "fault-operator")
    pool = ThreadPoolExecutor(workers, thread_name_prefix="client")
    for n in range(count):
        kind, key, body = submission(n, run)
        ledger.futures.append(pool.submit(send, stack, ledger, kind, key, body, operator))
    return pool


def finish(pool: ThreadPoolExecutor, ledger: Ledger) -> None:
    """Wait for every client; an unexpected answer (a 500, say) fails the test here."""
    pool.shutdown(wait=True)
    for future in ledger.futures:
        future.result()


class Screeners:
    """Approves every acknowledged volunteer through screening's API, retrying through its outages."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.pool = ThreadPoolExecutor(3, thread_name_prefix="screener")
        self.approved: set[str] = set()
        self.gave_up: list[str] = []
        self.token = stack.token(Role.SCREENER, "fault-screener")

    def __call__(self, kind: str, ident: str) -> None:
        if kind == "volunteer":
            self.pool.submit(self.approve, ident)

    def approve(self, ident: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        deadline = time.monotonic() + CLIENT_DEADLINE_S
        with httpx.Client(base_url=self.stack.url("screening"), timeout=60) as client:
            while time.monotonic() < deadline and not STOPPING.is_set():
                try:
                    answer = client.post(f"/api/v1/screening/cases/{ident}/decision", headers=headers,
                                         json={"decision": "approve", "reason": "interview-ok"})
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 0
                if status in (200, 409):  # 409: an earlier try (whose answer a crash swallowed) decided it
                    self.approved.add(ident)
                    return
                time.sleep(0.3)  # 404 until screening has read the offer; 0/503 while something is down
        self.gave_up.append(ident)


class Volunteers:
    """For every fifth request, every volunteer offered it tries to accept at once: one may win."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="volunteer")
        self.token = stack.token(Role.COORDINATOR, "fault-coordinator")
        self.won: Counter = Counter()
        self.n = 0

    def __call__(self, kind: str, ident: str) -> None:
        if kind == "request":
            self.n += 1
            if self.n % 5 == 0:
                self.pool.submit(self.race, ident)

    def race(self, request_id: str) -> None:
        deadline = time.monotonic() + 120
        with httpx.Client(timeout=60) as client:
            offers = []
            while time.monotonic() < deadline and not offers and not STOPPING.is_set():
                try:
                    answer = client.get(f"{self.stack.url('matching')}/api/v1/matching/requests/{request_id}/offers",
                                        headers={"Authorization": f"Bearer {self.token}"})
                    offers = answer.json()["offers"] if answer.status_code == 200 else []
                except (httpx.HTTPError, ValueError):
                    offers = []
                if not offers:
                    time.sleep(1)
            links = [o["link"] for o in offers]

            def accept(link: str) -> int:
                path = urlsplit(link).path  # the links name the public URL; the test talks to the process
                for _ in range(20):
                    try:
                        return client.post(f"{self.stack.url('matching')}{path}", content="action=accept",
                                           headers={"content-type": "application/x-www-form-urlencoded"}).status_code
                    except httpx.HTTPError:
                        time.sleep(1)
                return 0

            with ThreadPoolExecutor(len(links) or 1) as racers:
                results = list(racers.map(accept, links))
            self.won[request_id] += sum(1 for status in results if status == 200)


# --- what Kafka and the stores hold afterwards ---------------------------------------------------------


@dataclass
class Record:
    topic: str
    type: str
    event_id: str
    body: dict


def read_topics(bootstrap: str, names: list[str]) -> list[Record]:
    async def read() -> list[Record]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            cluster = await consumer._client.fetch_all_metadata()  # the topics' partitions, fresh
            parts = [TopicPartition(t, p) for t in names for p in (cluster.partitions_for_topic(t) or ())]
            if not parts:
                return []
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            out: list[Record] = []
            async def behind() -> bool:
                return any([await consumer.position(tp) < ends[tp] for tp in parts])

            while await behind():
                batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
                for tp, records in batch.items():
                    for r in records:
                        headers = {k: v.decode("utf-8", "replace") for k, v in r.headers}
                        out.append(Record(tp.topic, headers.get("ce_type", ""), headers.get("ce_id", ""),
                                          json.loads(r.value) if r.value and r.value[:1] == b"{" else {}))
            return out
        finally:
            await consumer.stop()

    return asyncio.run(read())


def of_type(record: Record, name: str) -> bool:
    return record.type.split(".")[-2:-1] == [name]  # "be.helpt.HelpRequested.v1"


INPUT_TOPICS = [topics.HELP_REQUESTS, topics.VOLUNTEERS, topics.SCREENING_DECISIONS]


def dead_letter_topics() -> list[str]:
    return [f"{t}{topics.DEAD_LETTER_SUFFIX}" for t in [*INPUT_TOPICS, topics.MATCHES]]


@dataclass
class Tally:
    sent: int  # distinct events on the topics the services consume
    copies: int  # records on those topics beyond the first with the same ce_id (republished after a crash)
    applied: int  # distinct events matching keeps as facts
    redeliveries_dropped: int  # deliveries a consumer recognised as already applied (from the services' logs)
    dead_lettered: int

    def line(self) -> str:
        return (f"sent={self.sent} copies_on_kafka={self.copies} applied={self.applied} "
                f"redeliveries_dropped={self.redeliveries_dropped} dead_lettered={self.dead_lettered}")


def redeliveries_dropped(stack: Stack) -> int:
    return sum(1 for name in ("screening", "matching") for line in stack.log_lines(name)
               if line.get("event") == "redelivery dropped")


def settle_and_check(stack: Stack, ledger: Ledger, label: str) -> Tally:
    """Wait until matching has applied every event on its topics, then check every promise; the tally."""
    mongo = MongoClient(stack.local.mongodb_url, uuidRepresentation="standard")
    intake, screening, matching = mongo["helpt_intake"], mongo["helpt_screening"], mongo["helpt_matching"]
    deadline, applied_so_far = time.monotonic() + SETTLE_DEADLINE_S, -1
    while True:
        records = read_topics(stack.local.bootstrap_servers, INPUT_TOPICS)
        dead = read_topics(stack.local.bootstrap_servers, dead_letter_topics())
        on_kafka = {r.event_id for r in records}
        dead_ids = {r.event_id for r in dead}
        facts = {str(f["_id"]) for f in matching["facts"].find({}, {"_id": 1})}
        if on_kafka - dead_ids <= facts or time.monotonic() > deadline:
            break
        if len(facts) != applied_so_far:  # still catching up: give it more time; a stall ends the wait
            deadline, applied_so_far = time.monotonic() + SETTLE_DEADLINE_S, len(facts)
        time.sleep(2)
    try:
        # Intake: every 202 has its case and its event; every case its event; no event without its case.
        requested = {r.body["request_id"] for r in records if of_type(r, "HelpRequested")}
        registered = {r.body["volunteer_id"] for r in records if of_type(r, "VolunteerRegistered")}
        acked_requests, acked_volunteers = ledger.ids("request"), ledger.ids("volunteer")
        cases = Counter((c["kind"], str(c["_id"])) for c in intake["cases"].find({}, {"kind": 1}))
        case_requests = {i for (k, i) in cases if k == "request"}
        case_volunteers = {i for (k, i) in cases if k == "volunteer"}
        assert not ledger.gave_up, f"{label}: {len(ledger.gave_up)} submissions never got a 202"
        assert acked_requests - requested == set(), (f"{label}: {len(acked_requests - requested)} acknowledged requests have no event; "
                                                     f"on Kafka: {Counter((r.topic, r.type) for r in records)}")
        assert acked_volunteers - registered == set(), f"{label}: {len(acked_volunteers - registered)} acknowledged offers have no event"
        assert case_requests == requested, (f"{label}: intake holds {len(case_requests - requested)} requests without an "
                                            f"event and Kafka {len(requested - case_requests)} events without a case")
        assert case_volunteers == registered, (f"{label}: intake holds {len(case_volunteers - registered)} offers without "
                                               f"an event and Kafka {len(registered - case_volunteers)} events without a case")
        keys = [k for k in ledger.acked]
        assert len(set(ledger.acked.values())) == len(keys), f"{label}: two keys got the same case"
        # Screening: one case per offer, none for anything else.
        screening_cases = Counter(str(c["_id"]) for c in screening["cases"].find({}, {"_id": 1}))
        assert set(screening_cases) == registered, f"{label}: screening cases differ from the offers"
        # Matching: every request and volunteer in its projections; every event a fact once.
        assert {str(d["_id"]) for d in matching["requests"].find({}, {"_id": 1})} >= requested, f"{label}: matching lacks requests"
        assert {str(d["_id"]) for d in matching["volunteers"].find({}, {"_id": 1})} >= registered, f"{label}: matching lacks volunteers"
        assert on_kafka - dead_ids <= facts, f"{label}: {len(on_kafka - dead_ids - facts)} events never applied by matching"
        approved = {r.body["volunteer_id"] for r in records if of_type(r, "VolunteerApproved")}
        approvals = Counter(r.body["volunteer_id"] for r in {r.event_id: r for r in records
                                                              if of_type(r, "VolunteerApproved")}.values())
        assert all(n == 1 for n in approvals.values()), f"{label}: a volunteer approved twice"
        assert approved <= registered
        # Matches: at most one accepted per request, no volunteer offered the same request twice.
        matches = {r.event_id: r for r in read_topics(stack.local.bootstrap_servers, [topics.MATCHES])}.values()
        accepted = Counter(r.body["request_id"] for r in matches if of_type(r, "MatchAccepted"))
        proposed = Counter((r.body["request_id"], r.body["volunteer_id"]) for r in matches if of_type(r, "MatchProposed"))
        assert max(accepted.values(), default=0) <= 1, f"{label}: a request accepted twice: {accepted.most_common(1)}"
        assert max(proposed.values(), default=0) <= 1, f"{label}: a volunteer offered a request twice: {proposed.most_common(1)}"
        # Personal data: the canaries are in no service's log.
        for name in SERVICES:
            text = stack.services[name].managed.log_file.read_text(encoding="utf-8", errors="replace")
            assert CANARY not in text and "@example.org" not in text, f"{label}: personal data in {name}'s log"
        tally = Tally(sent=len(on_kafka), copies=len(records) - len(on_kafka), applied=len(on_kafka & facts),
                      redeliveries_dropped=redeliveries_dropped(stack), dead_lettered=len(dead_ids))
        assert tally.sent == tally.applied + len(dead_ids - facts), f"{label}: {tally.line()}"
        assert tally.dead_lettered == 0, f"{label}: {tally.line()}"
        print(f"\n[faults] {label}: acknowledged={len(ledger.acked)} requests={len(requested)} offers={len(registered)} "
              f"approved={len(approved)} proposals={sum(proposed.values())} accepted={len(accepted)} "
              f"refusals_before_202={dict(ledger.refused)} {tally.line()}")
        return tally
    finally:
        mongo.close()


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 300,
             progress: Callable[[], object] | None = None) -> None:
    """Wait until `predicate()`; give up after `timeout` seconds without `progress()` changing (a stall, not a slow machine)."""
    deadline, seen = time.monotonic() + timeout, progress() if progress else None
    while not predicate():
        if progress is not None and (now := progress()) != seen:
            deadline, seen = time.monotonic() + timeout, now
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def readyz(stack: Stack, name: str) -> int:
    try:
        return httpx.get(f"{stack.url(name)}/readyz", timeout=10).status_code
    except httpx.HTTPError:
        return 0


# --- the faults ---------------------------------------------------------------------------------------


def test_each_service_killed_mid_stream_loses_nothing_and_applies_every_event_once(stack: Stack) -> None:
    ledger, screeners, volunteers = Ledger(), Screeners(stack), Volunteers(stack)
    ledger.watchers += [screeners, volunteers]
    clients = stream(stack, ledger, EVENTS, f"k{uuid.uuid4().hex[:6]}")
    for n, name in enumerate(SERVICES):
        wait_for(lambda: len(ledger.acked) >= EVENTS * (n + 1) // (len(SERVICES) + 1), f"the stream before killing {name}",
                 progress=lambda: len(ledger.acked))
        stack.kill(name)
        time.sleep(1.0)
        stack.start(name)
        stack.wait_ready()
    finish(clients, ledger)
    screeners.pool.shutdown(wait=True)
    volunteers.pool.shutdown(wait=True)
    assert not screeners.gave_up, f"{len(screeners.gave_up)} volunteers could never be approved"
    assert all(n <= 1 for n in volunteers.won.values()), "two volunteers were both told they won one request"
    tally = settle_and_check(stack, ledger, "kill -9 each service")
    assert tally.sent >= EVENTS + len(screeners.approved)
    print(f"[faults] races: {len(volunteers.won)} requests raced, {sum(volunteers.won.values())} accepts won")


def test_kafka_stopped_mid_stream_intake_refuses_and_loses_nothing_it_acknowledged(stack: Stack) -> None:
    ledger, screeners = Ledger(), Screeners(stack)
    ledger.watchers.append(screeners)
    count = max(EVENTS // 5, 40)
    clients = stream(stack, ledger, count, f"q{uuid.uuid4().hex[:6]}", workers=3)
    wait_for(lambda: len(ledger.acked) >= count // 3, "the stream before stopping Kafka", progress=lambda: len(ledger.acked))
    stack.stop_kafka()
    # While Kafka is away, a new submission is refused with a 503 and nothing is kept.
    operator = stack.token(Role.OPERATOR, "fault-operator")
    kind, _, body = submission(1, "down")
    answer = httpx.post(f"{stack.url('intake')}/api/v1/help-requests", json=body, timeout=120,
                        headers={"Idempotency-Key": f"down-{uuid.uuid4().hex}", "Authorization": f"Bearer {operator}"})
    assert answer.status_code == 503, answer.text[:300]
    acked_while_down = len(ledger.acked)
    time.sleep(3)
    stack.start_kafka()
    stack.wait_ready()
    finish(clients, ledger)
    screeners.pool.shutdown(wait=True)
    assert len(ledger.acked) == count
    print(f"[faults] Kafka down: 202s before and during the outage {acked_while_down}, after {count - acked_while_down}")
    settle_and_check(stack, ledger, "Kafka stopped and started")


def test_store_stopped_every_service_turns_unready_and_recovers_without_loss(stack: Stack) -> None:
    ledger, screeners = Ledger(), Screeners(stack)
    ledger.watchers.append(screeners)
    count = max(EVENTS // 10, 40)
    clients = stream(stack, ledger, count, f"s{uuid.uuid4().hex[:6]}", workers=3)
    wait_for(lambda: len(ledger.acked) >= count // 3, "the stream before stopping the store", progress=lambda: len(ledger.acked))
    stack.stop_store()
    try:
        wait_for(lambda: all(readyz(stack, name) == 503 for name in SERVICES), "every /readyz to answer 503", timeout=60)
    finally:
        stack.start_store()
    stack.wait_ready()
    finish(clients, ledger)
    screeners.pool.shutdown(wait=True)
    assert len(ledger.acked) == count
    settle_and_check(stack, ledger, "store stopped and started")
