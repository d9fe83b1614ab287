"""Composition root of the intake service."""

from __future__ import annotations

from fastapi import FastAPI

from helpt_platform.purge import gdpr_command_router
from helpt_platform.service import create_service_app
from helpt_intake.settings import IntakeSettings


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake service's HTTP app with its Kafka broker, store and subscribers."""
    return create_service_app(
        settings or IntakeSettings(),
        title="Helpt intake",
        description="Where every request for help and every offer arrives: web forms, phone console, e-mail, API.",
        kafka_consumers=[gdpr_command_router],
    )
