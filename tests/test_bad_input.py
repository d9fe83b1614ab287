"""Bad input at every door (issue 7, item 5), on the real stack of the `doors` fixture.

1. Every JSON operation of the four services' OpenAPI documents, fuzzed by Schemathesis (positive and negative
   cases, a few each, derandomised, no shrinking) with a token of a role the authorisation table lets through:
   no 5xx, every status documented, every body and content type as documented.
2. Malformed events on every topic a service consumes: each lands on `<topic>.dlt` with `dlt_error`, once per
   consuming service, and a good event sent after it on the same key is still applied.
3. Bodies too large, a body trickled slowly, a flood of writes from one address: 413, 408, 429 with Retry-After,
   while /healthz keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpt_contracts.roles import Role
from helpt_platform.limits import Limits


def _authorisation_table() -> Any:
    # With --import-mode=importlib a test module cannot import another: load the table by its path.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_helpt_authorisation_table", Path(__file__).with_name("test_authorisation.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_table = _authorisation_table()
PUBLIC, SERVICES, TABLE = _table.PUBLIC, _table.SERVICES, _table.TABLE

pytestmark = pytest.mark.infra

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 5  # per operation and generation mode
# Approving the end of the crisis would purge the tenant under the later tests: sent with a role that is refused.
NOT_SENT_ALLOWED = {("gdpr", "POST", "/api/v1/crisis-end/approvals")}


def _json_api(path: str) -> bool:
    return path.startswith("/api/") or path in ("/healthz", "/readyz")


def _role_for(service: str, method: str, path: str) -> Role | None:
    allowed = TABLE[(service, method, path)]
    if allowed == PUBLIC:
        return None
    if not allowed or (service, method, path) in NOT_SENT_ALLOWED:
        return Role.CITIZEN  # nobody may: the refusal must still be documented and well-formed
    return sorted(allowed, key=lambda r: r.value)[0]


@pytest.mark.parametrize("service", SERVICES)
def test_schemathesis_every_json_operation(doors, service: str) -> None:
    served = doors[service]
    schema = schemathesis.openapi.from_dict(served.app.openapi())
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        if not _json_api(path):
            continue
        role = _role_for(service, method, path)
        headers = {"Accept-Language": "en"} | (doors.bearer(role) if role else {})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: Any) -> None:
                nonlocal sent
                case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
                response = case.call(base_url=served.url, headers=headers, timeout=60)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 — collected, reported together below
                    for one in getattr(exc, "exceptions", None) or (exc,):
                        title = getattr(one, "title", type(one).__name__)
                        failures.append(f"{method} {path} [{mode.value}] → {response.status_code} {title}: "
                                        f"{response.text[:160]}")

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {method} {path}"
                # nothing in this operation can be made invalid (no parameters, no body)
    print(f"{service}: {sent} generated requests, {len(failures)} failures")
    assert sent > 0
    unique = sorted(set(failures))
    assert not unique, "\n" + "\n".join(unique[:40])


# ---------------------------------------------------------------------------------------------------------------
# 2. Malformed events


def _run(coroutine: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:  # its own event loop, whatever runs around the test
        return pool.submit(asyncio.run, coroutine).result()


def _send_raw(bootstrap: str, messages: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
    from aiokafka import AIOKafkaProducer

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=2 * 1024 * 1024)
        await producer.start()
        try:
            for topic, key, value, headers in messages:
                await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    _run(send())


def _dead_letters(bootstrap: str, topic: str) -> list[Any]:
    from aiokafka import AIOKafkaConsumer

    async def read() -> list[Any]:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                    enable_auto_commit=False, fetch_max_bytes=8 * 1024 * 1024,
                                    max_partition_fetch_bytes=4 * 1024 * 1024)
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=2000)
            return [record for records in batches.values() for record in records]
        finally:
            await consumer.stop()

    return _run(read())


def _malformed(event: Any) -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    """(what, body, headers) of each malformed variant of a good event."""
    from helpt_contracts.envelope import Envelope

    headers = Envelope.for_event(event, source="intake").to_headers()
    good_body = event.model_dump_json().encode()
    as_list = lambda h: [(k, v.encode()) for k, v in h.items()]  # noqa: E731
    return [
        ("not JSON", b"{this is not json", as_list(headers)),
        ("JSON of the wrong schema", json.dumps({"tenant": "leuven", "something": "else"}).encode(), as_list(headers)),
        ("an unknown ce_type", good_body, as_list(headers | {"ce_type": "be.helpt.NoSuchThing.v1"})),
        ("no ce_* headers", good_body, as_list({k: v for k, v in headers.items() if not k.startswith("ce_")})),
        ("an oversized event (valid, padded past 256 KB)",
         json.dumps(json.loads(good_body) | {"padding": "x" * (300 * 1024)}).encode(), as_list(headers)),
    ]


def test_malformed_events_are_dead_lettered_and_the_next_good_event_is_applied(doors) -> None:
    from helpt_contracts import topics
    from helpt_contracts.examples import help_requested, volunteer_registered
    from helpt_platform.testing import eventually

    settings = doors["gdpr"].settings
    bootstrap = settings.kafka_bootstrap_servers
    request, volunteer = help_requested(), volunteer_registered()
    # topic → (good event, the services that consume the topic, how to see the good event applied)
    cases = {
        topics.HELP_REQUESTS: (request, {"gdpr", "intake", "screening", "matching"}, lambda: doors.client("matching").get(
            f"/api/v1/matching/backoffice/requests/{request.request_id}", headers=doors.bearer(Role.COORDINATOR))),
        topics.VOLUNTEERS: (volunteer, {"gdpr", "screening", "matching"}, lambda: doors.client("screening").get(
            f"/api/v1/screening/cases/{volunteer.volunteer_id}", headers=doors.bearer(Role.SCREENER))),
    }
    sent = dead = applied = 0
    from helpt_contracts.envelope import Envelope

    for topic, (good, consumers, effect) in cases.items():
        variants = _malformed(good)
        good_headers = [(k, v.encode()) for k, v in Envelope.for_event(good, source="intake").to_headers().items()]
        _send_raw(bootstrap, [(settings.topic(topic), good.key(), body, headers) for _what, body, headers in variants]
                  + [(settings.topic(topic), good.key(), good.model_dump_json().encode(), good_headers)])
        sent += len(variants)
        seen = eventually(effect, lambda r: r.status_code == 200, f"the good event on {topic} applied after the bad ones")
        assert seen.status_code == 200
        applied += 1
        expected = len(variants) * len(consumers)
        records = eventually(lambda: _dead_letters(bootstrap, settings.topic(topic) + ".dlt"),
                             lambda rs: len(rs) >= expected, f"every malformed {topic} event dead-lettered by every consumer")
        assert len(records) == expected
        by_service: dict[str, int] = {}
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            assert headers["dlt_error"].startswith("EnvelopeError"), headers["dlt_error"]
            assert record.key == good.key()
            by_service[headers["dlt_service"]] = by_service.get(headers["dlt_service"], 0) + 1
        assert by_service == dict.fromkeys(consumers, len(variants))
        dead += len(records)
    for name in SERVICES:
        assert doors.client(name).get("/healthz").status_code == 200
    print(f"malformed events: {sent} sent, {dead} dead-lettered (one per consuming service), {applied} good events applied")


# ---------------------------------------------------------------------------------------------------------------
# 3. Oversized bodies, slow clients, floods

@contextlib.contextmanager
def _limits(served: Any, limits: Limits) -> Any:
    """Tighter limits on a running service for the block (its settings' limits again after)."""
    before = served.app.state.request_limits
    served.app.state.request_limits = limits
    try:
        yield
    finally:
        served.app.state.request_limits = before


WRITE = {"intake": "/api/v1/volunteers", "screening": "/api/v1/screening/cases/{id}/suspend".format(id=uuid.uuid4()),
         "matching": "/api/v1/matching/needs", "gdpr": "/api/v1/seal"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_body_over_the_limit_is_refused_before_it_is_read(doors, service: str) -> None:
    client = doors.client(service)
    limit = doors[service].app.state.request_limits.max_body_bytes  # gdpr takes batches of 500: its limit is larger
    big = b'{"x": "' + b"x" * (limit + 44 * 1024) + b'"}'
    declared = client.post(WRITE[service], content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert "KB" in declared.json()["detail"]

    def chunks() -> Any:  # no Content-Length: chunked, counted as it arrives
        for start in range(0, len(big), 16 * 1024):
            yield big[start:start + 16 * 1024]

    chunked = client.post(WRITE[service], content=chunks(), headers={"content-type": "application/json"})
    # intake's API asks for the length first (411); the others cut the body off at the limit (413)
    assert chunked.status_code == (411 if service == "intake" else 413), chunked.text
    assert "xxxx" not in chunked.text and "xxxx" not in declared.text
    assert client.get("/healthz").status_code == 200


def test_a_trickled_body_is_cut_off_while_others_are_answered(doors) -> None:
    """uvicorn bounds only idle keep-alive connections, not a slow body: the platform's body_timeout_s does."""
    served = doors["screening"]
    host, port = served.url.removeprefix("http://").split(":")
    answer: list[bytes] = []

    def trickle() -> None:
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(f"POST {WRITE['screening']} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: 1000\r\n\r\n".encode())
            sock.settimeout(0.2)
            for _ in range(1000):  # one byte at a time, until the service answers or closes
                try:
                    data = sock.recv(4096)
                except TimeoutError:
                    sock.sendall(b" ")
                    continue
                if not data:
                    return  # closed after the answer
                answer.append(data)

    with _limits(served, Limits(body_timeout_s=1.0)):
        thread = threading.Thread(target=trickle)
        thread.start()
        others = [httpx.get(f"{served.url}/healthz", timeout=10).status_code for _ in range(5)]
        thread.join(60)
    assert others == [200] * 5, "another client is answered while one trickles"
    assert answer and answer[0].startswith(b"HTTP/1.1 408"), answer[:1]
    assert b"did not arrive within" in b"".join(answer)


@pytest.mark.parametrize("service", SERVICES)
def test_a_flood_of_writes_from_one_address_gets_429_while_health_answers(doors, service: str) -> None:
    served = doors[service]
    client = doors.client(service)
    with _limits(served, Limits(write_rate_limit=5, write_rate_window_s=600, trust_forwarded_for=True)):
        statuses = [client.post(WRITE[service], json={}, headers={"X-Forwarded-For": "203.0.113.7"}) for _ in range(8)]
        health, ready = client.get("/healthz").status_code, client.get("/readyz").status_code
        other = client.post(WRITE[service], json={}, headers={"X-Forwarded-For": "203.0.113.8"})
    assert [r.status_code for r in statuses[:5]].count(429) == 0
    limited = statuses[5:]
    assert all(r.status_code == 429 for r in limited), [r.status_code for r in limited]
    assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
    assert "try again" in limited[0].json()["detail"]
    assert health == 200 and ready == 200  # reads are never limited
    assert other.status_code != 429, "another address is not held back"
