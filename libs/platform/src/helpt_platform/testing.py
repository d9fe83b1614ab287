"""Test helpers every service's tests share (imported by tests only)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpt_platform.settings import ServiceSettings

T = TypeVar("T")

__all__ = ["CHROMIUM_ARGS", "CatcherHandle", "StoreCommands", "axe_violations", "check_service_skeleton", "chromium", "chromium_path", "consuming", "eventually",
           "free_port", "mail_catcher", "republish", "serve_in_thread", "tenant_profiles_dir", "topic_events", "topic_records"]


def _command_listener_base() -> type:
    from pymongo import monitoring

    return monitoring.CommandListener


class StoreCommands(_command_listener_base()):  # type: ignore[misc]
    """Every command a client sends, as (name, collection, filter): pass it as `event_listeners=[...]` to a
    client to check what a handler asks the store (the local store decodes every document for a UUID, `$in` or
    a range — ADR 0017 — so a per-event look-up of such a shape grows with the store)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    def started(self, event: Any) -> None:
        collection = event.command.get(event.command_name)
        self.seen.append((event.command_name, collection if isinstance(collection, str) else "", event.command.get("filter")))

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


def tenant_profiles_dir(folder: Any, *tenants: str, **fields: Any) -> Any:
    """`folder` with a plain profile (`<tenant>.json`) for each of `tenants`: for a test that serves more
    municipalities than Leuven. `fields` go into every profile (e.g. `languages=["nl", "en"]`)."""
    import json

    for tenant in tenants:
        profile = {"id": tenant, "name": tenant.capitalize(), "help_phone": "016 00 00 00", "languages": ["nl", "en", "fr"]}
        (folder / f"{tenant}.json").write_text(json.dumps(profile | fields), "utf-8")
    return folder


def check_service_skeleton(
    create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings, *, default_port: int
) -> None:
    """A service listens on its own port and answers /healthz with its own name while its Kafka
    is unreachable, but is not ready.

    The settings point at closed ports, so this needs no infrastructure: liveness must not depend
    on Kafka or the store (an orchestrator would restart a healthy process), readiness must.
    """
    assert settings.port == default_port
    assert settings.model_copy(update={"http_port": default_port + 1000}).port == default_port + 1000
    dead = settings.model_copy(
        update={"kafka_bootstrap_servers": "127.0.0.1:1", "mongodb_url": SecretStr("mongodb://127.0.0.1:1/"), "log_json": False}
    )
    with TestClient(create_app(dead)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "service": settings.service.value}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert set(ready.json()["checks"]) == {"kafka", "mongodb"}
        assert "/readyz" in client.get("/openapi.json").json()["paths"]


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    """Debian's Chromium (installed by `make install`); HELPT_CHROMIUM overrides. Fails loudly if absent."""
    import os
    import shutil

    path = os.environ.get("HELPT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: run `make install` (Debian: apt-get install chromium)")
    return path


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright's sync API (never Playwright's own download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: object) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now, one readable line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, *, timeout_s: float = 30.0) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port for the block; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start serving")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)


def eventually(call: Callable[[], T], done: Callable[[T], bool], what: str, seconds: float = 90) -> T:
    """Call until `done(result)`, and return that result; fail naming `what` after `seconds`."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        result = call()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def topic_records(settings: ServiceSettings, topic: str, *, wait_ms: int = 3000) -> list[tuple[Any, object]]:
    """Every record now on a contracts topic (the settings' prefix applied): (Kafka record, decoded event).

    Reads in a thread of its own, so it works beside Playwright's sync API and inside event loops.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiokafka import AIOKafkaConsumer

    from helpt_contracts.envelope import decode_event

    async def read() -> list[tuple[Any, object]]:
        consumer = AIOKafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap_servers,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=wait_ms)
            return [(r, decode_event(r.headers, r.value)[1]) for records in batches.values() for r in records]
        finally:
            await consumer.stop()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def topic_events(settings: ServiceSettings, topic: str, *, wait_ms: int = 3000) -> list[tuple[bytes, object]]:
    """Every record now on a contracts topic as (raw value, decoded event): for checks on the bytes sent."""
    return [(record.value, event) for record, event in topic_records(settings, topic, wait_ms=wait_ms)]


def republish(settings: ServiceSettings, record: Any) -> None:
    """Send a consumed record again, byte for byte: a redelivery."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiokafka import AIOKafkaProducer

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers))
        finally:
            await producer.stop()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


class CatcherHandle:
    """A mail catcher for a test: `smtp_port` stays the same across `stop()` and `start()`; `mails()` lists what arrived."""

    def __init__(self, directory: Any) -> None:
        from helpt_platform.mailcatcher import MailCatcher

        self.catcher = MailCatcher(directory)
        self.smtp_port = free_port()
        self.url = ""
        self._server: Any = None

    def start(self) -> str:
        self._server = serve_in_thread(self.catcher.app("127.0.0.1", self.smtp_port))
        self.url = self._server.__enter__()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.__exit__(None, None, None)
            self._server = None

    def mails(self, to: str | None = None) -> list[Any]:
        """The messages caught so far (to one address, if given), oldest first."""
        return [m for m in self.catcher.mails() if to is None or to in m.recipients]


@contextlib.contextmanager
def mail_catcher(directory: Any = None) -> Iterator[CatcherHandle]:
    """A running mail catcher (helpt_platform.mailcatcher) for the block: point a service's SMTP port at `smtp_port`."""
    handle = CatcherHandle(directory)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@contextlib.asynccontextmanager
async def consuming(settings: ServiceSettings, topic: str, handler: Any, *, attempts: int | None = 5) -> Any:
    """A broker with one router (the services' policy: NACK_ON_ERROR, `attempts` then a dead letter, commits
    behind the handler) calling `handler(envelope, event)` for `topic`'s events, started and then stopped."""
    from helpt_platform.consumers import subscribe_events
    from helpt_platform.kafka import create_broker, create_router

    router = create_router(settings, dead_letter_attempts=attempts)
    subscribe_events(router, settings, topic, handler)
    broker = create_broker(settings, routers=[router])
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
