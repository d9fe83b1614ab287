"""The MongoDB client every service uses: PyMongo's async API (motor reached end of life in May 2026)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from helpt_platform.logs import get_logger
from helpt_platform.settings import ServiceSettings

__all__ = ["SlowCommands", "create_mongo_client", "filter_shape", "mongo_ping", "service_database"]

log = get_logger(__name__)

# Where a command carries its filter: find/count/distinct/aggregate at the top, updates and deletes per statement.
_FILTER_KEYS = ("filter", "query")


def filter_shape(value: Any) -> Any:
    """A filter with every value replaced by its type's name: what was asked, never what it was asked for
    (a filter may hold a blind index or a subject id; a log line holds neither)."""
    if isinstance(value, dict):
        return {str(k): filter_shape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [filter_shape(v) for v in value[:1]] + (["..."] if len(value) > 1 else [])
    return type(value).__name__


def _command_filter(command: Any, name: str) -> Any:
    for key in _FILTER_KEYS:
        if key in command:
            return command[key]
    statements = command.get("updates") or command.get("deletes")
    if statements:
        return statements[0].get("q")
    if name == "aggregate" and command.get("pipeline"):
        return command["pipeline"][0].get("$match")
    return None


class SlowCommands(monitoring.CommandListener):
    """Logs every store command slower than `threshold_ms`: its name, collection and filter shape.

    On FerretDB 1.24 a filter other than a lone string `_id` reads the whole collection (ADR 0016): a
    look-up that grows with the store shows up here first, named by its shape."""

    def __init__(self, threshold_ms: float) -> None:
        self._threshold_us = threshold_ms * 1000
        self._started: dict[tuple[Any, int], tuple[str, str, Any]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        collection = event.command.get(name)
        self._started[(event.connection_id, event.request_id)] = (
            name, collection if isinstance(collection, str) else "", _command_filter(event.command, name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event, "ok")

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event, "failed")

    def _done(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent, outcome: str) -> None:
        started = self._started.pop((event.connection_id, event.request_id), None)
        if started is None or event.duration_micros < self._threshold_us:
            return
        name, collection, query = started
        log.warning("slow store command", command=name, collection=collection, shape=filter_shape(query),
                    ms=round(event.duration_micros / 1000, 1), outcome=outcome)


def create_mongo_client(settings: ServiceSettings, *, timeout_ms: int = 5000) -> AsyncMongoClient:
    """A client for the service's store. It connects lazily: creating it does no I/O."""
    return AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=f"helpt-{settings.service.value}",
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        event_listeners=[SlowCommands(settings.slow_store_command_ms)] if settings.slow_store_command_ms > 0 else [],
    )


def service_database(client: AsyncMongoClient, settings: ServiceSettings) -> AsyncDatabase:
    """The service's own database: services never share one."""
    return client[settings.database_name]


async def mongo_ping(client: AsyncMongoClient) -> None:
    """Raise if the store does not answer."""
    await client.admin.command("ping")
