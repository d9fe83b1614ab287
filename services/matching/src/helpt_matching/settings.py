"""The matching service's settings: environment variables prefixed HELPT_MATCHING_."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    """Settings of the matching service."""

    model_config = SettingsConfigDict(env_prefix="HELPT_MATCHING_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName] = ServiceName.MATCHING
    default_port: ClassVar[int] = 8002

    public_url: str = Field(default="http://127.0.0.1:8002", description="Base URL volunteers reach their offer links at.")
    offers_per_round: int = Field(default=3, ge=1, le=50, description="How many volunteers are offered a request at a time.")
    offer_ttl_s: float = Field(default=7200, gt=0, le=7 * 86400, description="How long an offer stays open before it rotates.")
    expiry_interval_s: float = Field(default=30, gt=0, le=3600,
                                     description="How often lapsed offers are expired and waiting requests offered again.")
    need_spare_offers: int = Field(default=0, ge=0, le=50,
                                   description="Offers a collective need gets beyond its open places (the first accepts fill them).")
    relay_interval_s: float = Field(default=1.0, gt=0, le=60, description="How often pending match events are (re)published.")
    link_secret_file: Path = Field(default=Path(".state/local/matching-links.secret"),
                                   description="Secret that signs offer links (created on first use).")
    link_ttl_hours: float = Field(default=168, gt=0, le=2160,
                                  description="How long an offer link opens (the volunteer marks the task done through it).")
    idle_after_days: float = Field(default=7, ge=0, le=365,
                                   description="Back office: an eligible volunteer offered nothing for this long is listed as idle.")
    stale_after_hours: float = Field(default=4, ge=0, le=24 * 30,
                                     description="Back office: an open request without a match for this long is listed as stale "
                                                 "(keep it equal to intake's HELPT_INTAKE_CALL_BACK_AFTER_HOURS).")
    partner_quotas: dict[str, int] = Field(default_factory=dict,
                                           description='Back office: matches each partner organisation may hold at once, as JSON, '
                                                       'e.g. {"woonzorg-leuven": 40}; an organisation not named has no quota.')
