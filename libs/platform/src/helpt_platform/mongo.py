"""The MongoDB client every service uses: PyMongo's async API (motor reached end of life in May 2026)."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from helpt_platform.settings import ServiceSettings

__all__ = ["create_mongo_client", "mongo_ping", "service_database"]


def create_mongo_client(settings: ServiceSettings, *, timeout_ms: int = 5000) -> AsyncMongoClient:
    """A client for the service's store. It connects lazily: creating it does no I/O."""
    return AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=f"helpt-{settings.service.value}",
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )


def service_database(client: AsyncMongoClient, settings: ServiceSettings) -> AsyncDatabase:
    """The service's own database: services never share one."""
    return client[settings.database_name]


async def mongo_ping(client: AsyncMongoClient) -> None:
    """Raise if the store does not answer."""
    await client.admin.command("ping")
