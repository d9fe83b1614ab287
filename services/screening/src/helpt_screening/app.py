"""Composition root of the screening service."""

from __future__ import annotations

from fastapi import FastAPI

from helpt_platform.purge import gdpr_command_router
from helpt_platform.service import create_service_app
from helpt_screening.settings import ScreeningSettings


def create_app(settings: ScreeningSettings | None = None) -> FastAPI:
    """The screening service's HTTP app with its Kafka broker, store and subscribers."""
    return create_service_app(
        settings or ScreeningSettings(),
        title="Helpt screening",
        description="Vets volunteers before they are sent to anyone: cases, pre-checks, decisions.",
        kafka_consumers=[gdpr_command_router],
    )
