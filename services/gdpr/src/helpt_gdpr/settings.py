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
    # gdpr's callers are Helpt's own services on the internal network (NetworkPolicy): a per-address write limit
    # would throttle intake itself at a crisis's peak, and a batch of 500 seals is larger than a citizen's form.
    write_rate_limit: int = Field(default=0, ge=0, description="Writes one address may send per window; 0 (the default here): no limit.")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Largest request body (batches of 500); larger gets 413.")
