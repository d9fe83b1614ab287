"""The screening service's settings: environment variables prefixed HELPT_SCREENING_."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    """Settings of the screening service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_SCREENING_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.SCREENING
    default_port: ClassVar[int] = 8001

    gdpr_url: str = Field(default="http://127.0.0.1:8003", description="Base URL of the gdpr service.")
    public_url: str = Field(default="http://127.0.0.1:8001", description="Base URL volunteers reach screening's guidelines page at.")
    link_secret_file: Path = Field(default=Path(".state/local/screening-links.secret"),
                                   description="Secret that signs the guidelines links (created on first use).")
    link_ttl_days: float = Field(default=14, gt=0, le=90, description="How long a guidelines link stays valid.")
    guidelines_version: str = Field(default="2026-03", description="Version of the guidelines and insurance notice shown.")
    relay_interval_s: float = Field(default=1.0, gt=0, le=60, description="How often pending decisions are (re)published.")
