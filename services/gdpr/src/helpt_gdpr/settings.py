"""The gdpr service's settings: environment variables prefixed HELPT_GDPR_."""

from __future__ import annotations

from typing import ClassVar

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class GdprSettings(ServiceSettings):
    """Settings of the gdpr service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_GDPR_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.GDPR
    default_port: ClassVar[int] = 8003

    key_dir: Path = Field(default=Path(".state/local/gdpr-keys"), description="Directory of tenant key files (local key custody).")

    phone_region: str = Field(default="BE", pattern=r"^[A-Z]{2}$", description="Country for phone numbers given without one.")

    announce_retry_s: float = Field(default=5.0, gt=0, description="How often unannounced erasures and purges are re-sent.")
