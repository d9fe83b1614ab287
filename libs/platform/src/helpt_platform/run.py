"""Run a service's app with uvicorn: what `python -m helpt_<service>` calls."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from helpt_platform.logs import configure_logging
from helpt_platform.settings import ServiceSettings

__all__ = ["serve"]


def serve(create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    """Serve until SIGINT/SIGTERM; logging is the service's own (uvicorn's config is not applied)."""
    configure_logging(settings.service.value, level=settings.log_level, json=settings.log_json)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.port, log_config=None, access_log=False)
