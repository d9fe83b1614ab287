"""Composition root of the gdpr service."""

from __future__ import annotations

from fastapi import FastAPI

from helpt_platform.service import create_service_app
from helpt_gdpr.settings import GdprSettings


def create_app(settings: GdprSettings | None = None) -> FastAPI:
    """The gdpr service's HTTP app with its Kafka broker and store."""
    return create_service_app(
        settings or GdprSettings(),
        title="Helpt gdpr",
        description="Holds every key to personal data: seal, scoped and audited reveal, erasure, end-of-crisis purge.",
    )
