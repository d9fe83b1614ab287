"""The MongoDB client every service uses: PyMongo's async API (motor reached end of life in May 2026)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import OperationFailure
from pymongo.asynchronous.database import AsyncDatabase

from helpt_platform.logs import get_logger
from helpt_platform.settings import ServiceSettings

__all__ = ["SlowCommands", "create_mongo_client", "delete_all", "filter_shape", "mongo_ping", "service_database"]

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

    On the local store (FerretDB 1.24 on PostgreSQL) an equality on a string field is an index look-up
    (ADR 0018), but a UUID, `$in` or a range is decoded document by document in Go (ADR 0017): a look-up
    that grows with the store shows up here first, named by its shape."""

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


# FerretDB 1.24 on PostgreSQL deletes what a filter matched with one SQL statement holding one parameter per
# document, and PostgreSQL takes at most 65,535: a `delete_many` matching more fails whole, deleting nothing.
# Seen in `make bench` (benchmark 5, 100,000 keys); a crisis purge of a city that size would have failed.
_TOO_MANY = "65535 parameters"
DELETE_CHUNK = 50_000


def _id_order(value: Any) -> tuple[int, Any] | None:
    """Where an `_id` sorts among those of its own BSON type (a range query compares within one type), or None."""
    if isinstance(value, str):
        return 0, value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return 1, value
    if isinstance(value, uuid.UUID):
        return 2, value.bytes
    if isinstance(value, ObjectId):
        return 3, value.binary
    return None


async def delete_all(collection: Any, selector: Mapping[str, Any], *, chunk: int = DELETE_CHUNK) -> int:
    """`delete_many(selector)` however many documents match; the number deleted.

    One `delete_many` where the store takes it (MongoDB always). Where it refuses for the count
    (FerretDB on PostgreSQL, over 65,535), the matching `_id`s are read, sorted within their type, and
    deleted `chunk` at a time by range (`_id` ≤ the chunk's last), then once more by `selector` alone for
    anything left (written meanwhile, or an `_id` of another type). Nothing outside `selector` is touched.
    """
    try:
        return (await collection.delete_many(selector)).deleted_count
    except OperationFailure as exc:
        if _TOO_MANY not in str(exc):
            raise
    groups: dict[int, list[tuple[Any, Any]]] = {}
    async for doc in collection.find(selector, {"_id": 1}):
        order = _id_order(doc["_id"])
        if order is not None:
            groups.setdefault(order[0], []).append((order[1], doc["_id"]))
    deleted = 0
    for found in groups.values():
        found.sort(key=lambda pair: pair[0])
        for end in range(chunk - 1, len(found) + chunk - 1, chunk):
            last = found[min(end, len(found) - 1)][1]
            upto = {"_id": {"$lte": last}}
            deleted += (await collection.delete_many({"$and": [selector, upto]} if "_id" in selector else {**selector, **upto})).deleted_count
    return deleted + (await collection.delete_many(selector)).deleted_count
