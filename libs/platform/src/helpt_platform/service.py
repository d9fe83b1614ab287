"""One composition root for a service process: FastAPI app, Kafka broker, store, health.

The broker starts in FastAPI's lifespan (FastStream's own FastAPI integration is deprecated).
If Kafka is not there yet, the app still starts and keeps trying in the background; `/readyz`
says 503 until both Kafka and the store answer, which is what an orchestrator needs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker, KafkaRouter
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from helpt_platform.auth import Refusal
from helpt_platform.commits import drain_commits
from helpt_platform.kafka import create_broker
from helpt_platform.limits import WRITES, RequestLimits, limits_from
from helpt_platform.logs import configure_logging, get_logger
from helpt_platform.mongo import create_mongo_client, mongo_ping, service_database
from helpt_platform.settings import ServiceSettings

__all__ = ["BackgroundJob", "RouterFactory", "Runtime", "create_service_app", "document_answers", "every"]

log = get_logger(__name__)
CHECK_TIMEOUT_S = 3.0
START_TIMEOUT_S = 45.0  # a broker start (every subscriber, ~1 s when well) that takes longer is abandoned and retried


@dataclass
class Runtime:
    """What a running service holds; handlers receive the parts they need from it."""

    settings: ServiceSettings
    broker: KafkaBroker
    mongo: AsyncMongoClient
    db: AsyncDatabase
    kafka_started: asyncio.Event = field(default_factory=asyncio.Event)


# Builds a router whose handlers close over the runtime (its store and broker exist only once
# the lifespan has started, after the app was composed).
RouterFactory = Callable[[Runtime], KafkaRouter]


# A coroutine that runs for the life of the service (a relay, a scheduled clean-up).
BackgroundJob = Callable[[Runtime], Awaitable[None]]


def every(seconds: float, job: Callable[[Runtime], Awaitable[object]]) -> BackgroundJob:
    """A background job that runs `job` every `seconds`, once Kafka is connected; a failure waits for the next round."""

    async def loop(runtime: Runtime) -> None:
        await runtime.kafka_started.wait()
        while True:
            try:
                await job(runtime)
            except Exception as exc:  # noqa: BLE001 — the next round retries; the type says enough
                log.warning("background job failed; retrying next round", job=getattr(job, "__name__", "job"),
                            error=type(exc).__name__)
            await asyncio.sleep(seconds)

    return loop


async def _start_broker(runtime: Runtime, retry_s: float = 2.0, timeout_s: float = START_TIMEOUT_S) -> None:
    """Start the broker, retrying until it starts. A start that hangs (seen once: a restarted service's second
    subscriber never came up, and the service stayed unready) counts as a failure after `timeout_s`."""
    while True:
        try:
            await asyncio.wait_for(runtime.broker.start(), timeout_s)
        except Exception as exc:  # noqa: BLE001 — any failure means "not yet"; say which and retry
            log.warning("kafka not reachable yet; retrying", error=type(exc).__name__, retry_in_s=retry_s)
            with contextlib.suppress(Exception):
                await runtime.broker.stop()
            await asyncio.sleep(retry_s)
        else:
            runtime.kafka_started.set()
            log.info("kafka connected")
            return


async def _stop_tasks(tasks: Sequence[asyncio.Task[Any]], *, rounds: int = 3, wait_s: float = 5.0) -> None:
    """Cancel the service's background tasks and wait for them, a bounded time.

    A task may swallow its cancellation: aiokafka's client `close()` suppresses `CancelledError`, so a broker start
    cancelled while it stops a failed attempt goes on retrying (a service's shutdown once hung there for good).
    Each task still running after `wait_s` is cancelled again, `rounds` times in all; what then still runs is left.
    """
    pending = set(tasks)
    for _ in range(rounds):
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=wait_s) if pending else (set(), set())
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: a job that failed while stopping is no error of the stop
        if not pending:
            return
    log.warning("background tasks did not stop", tasks=[t.get_name() for t in pending])


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> tuple[str, str]:
    try:
        result = await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 — a readiness probe reports, it does not raise
        return name, f"unavailable ({type(exc).__name__})"
    return name, "ok" if result is not False else "unavailable"


def _health_routes(runtime_of: Callable[[], Runtime], service: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/readyz", summary="Readiness: Kafka and the store answer", responses={503: {"description": "Not ready"}})
    async def readyz() -> JSONResponse:
        runtime = runtime_of()

        async def kafka() -> bool:
            return runtime.kafka_started.is_set() and await runtime.broker.ping(timeout=CHECK_TIMEOUT_S - 0.5)

        checks = dict(await asyncio.gather(_check("kafka", kafka), _check("mongodb", lambda: mongo_ping(runtime.mongo))))
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": service, "checks": checks},
            status_code=200 if ready else 503,
        )

    return router


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    # FastAPI's default answer echoes the offending input, which may be personal data: say
    # where and what is wrong, never what was sent.
    assert isinstance(error, RequestValidationError)
    problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in error.errors()]
    return JSONResponse({"detail": problems}, status_code=422)


async def refused(_request: Request, refusal: Exception) -> JSONResponse:
    # Every Refusal (auth, policy, bad request, unavailable) as its 4xx/503 with a reason that holds no data.
    assert isinstance(refusal, Refusal)
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
    return JSONResponse({"detail": refusal.reason}, status_code=refusal.status, headers=headers)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    kafka_routers: Sequence[KafkaRouter] = (),
    kafka_consumers: Sequence[RouterFactory] = (),
    http_routers: Sequence[APIRouter] = (),
    background: Sequence[BackgroundJob] = (),
) -> FastAPI:
    """The FastAPI app of one service, with its broker and store started in the lifespan.

    `kafka_consumers` are called with the `Runtime` in the lifespan, before the broker starts;
    the routers they return are included in the broker. `background` jobs run from start to
    shutdown (see `every`).
    """
    holder: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service.value, level=settings.log_level, json=settings.log_json)
        mongo = create_mongo_client(settings)
        runtime = Runtime(settings, create_broker(settings, routers=kafka_routers), mongo, service_database(mongo, settings))
        runtime.broker.include_routers(*(build(runtime) for build in kafka_consumers))
        holder["runtime"] = app.state.runtime = runtime
        tasks = [asyncio.create_task(_start_broker(runtime)), *(asyncio.create_task(job(runtime)) for job in background)]
        log.info("service starting", port=settings.port, database=settings.database_name)
        try:
            yield
        finally:
            await _stop_tasks(tasks)
            await drain_commits()  # handled events' offsets, before the consumers stop
            await runtime.broker.stop()
            await drain_commits()
            await mongo.close()
            log.info("service stopped")

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Refusal, refused)
    # Body size and time, writes per address: before anything reads a body (see helpt_platform.limits).
    app.state.request_limits = limits_from(settings)
    app.add_middleware(RequestLimits, limits=lambda scope: scope["app"].state.request_limits)
    app.include_router(_health_routes(lambda: holder["runtime"], settings.service.value))
    for router in http_routers:
        app.include_router(router)
    document_answers(app, _PLATFORM_ANSWERS)
    return app


# What the platform itself may answer on the JSON API, before or around an operation's own code:
# status → (does it apply to this (method, OpenAPI operation)?, description).
Answers = dict[int, tuple[Callable[[str, dict], bool], str]]
_PLATFORM_ANSWERS: Answers = {
    400: (lambda _method, op: "requestBody" in op, "The body could not be read as JSON"),
    408: (lambda _method, op: "requestBody" in op, "The body did not arrive in time"),
    413: (lambda _method, op: "requestBody" in op, "The body is too large"),
    429: (lambda method, _op: method.upper() in WRITES, "Too many changes from this address; see Retry-After"),
}


def document_answers(app: FastAPI, answers: Answers) -> None:
    """Add each applicable `status: description` to the OpenAPI responses of the app's `/api/` operations
    (an operation's own description of the same status wins)."""
    build = app.openapi

    def openapi() -> dict:
        schema = build()
        for path, item in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                for status, (applies, description) in answers.items():
                    if applies(method, operation):
                        operation["responses"].setdefault(str(status), {"description": description})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
