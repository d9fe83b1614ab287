"""Test helpers every service's tests share (imported by tests only)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpt_platform.settings import ServiceSettings

__all__ = ["check_service_skeleton"]


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
