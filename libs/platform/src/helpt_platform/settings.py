"""The settings every service has, read from the environment (pydantic-settings).

Each service subclasses `ServiceSettings` with its own prefix, e.g. `HELPT_INTAKE_HTTP_PORT`.
`KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URL` without a prefix apply to every service at once;
a prefixed variable wins over them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from helpt_contracts.roles import ServiceName
from helpt_platform.auth import TokenVerifier, local_secret
from helpt_platform.tenants import TenantProfiles, load_tenant_profiles

__all__ = ["SHARED_ENV", "ServiceSettings"]

# field -> unprefixed variable shared by all services
SHARED_ENV = {
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "mongodb_url": "MONGODB_URL",
    "topic_prefix": "HELPT_TOPIC_PREFIX",
    "log_level": "HELPT_LOG_LEVEL",
    "slow_store_command_ms": "HELPT_SLOW_STORE_COMMAND_MS",
    "kafka_commit_interval_ms": "HELPT_KAFKA_COMMIT_INTERVAL_MS",
    "tenants": "HELPT_TENANTS",
    "tenant_dir": "HELPT_TENANT_DIR",
    "jwt_secret_file": "HELPT_JWT_SECRET_FILE",
    "oidc_jwks_url": "HELPT_OIDC_JWKS_URL",
    "oidc_issuer": "HELPT_OIDC_ISSUER",
}


class _SharedEnvironment(PydanticBaseSettingsSource):
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = SHARED_ENV.get(field_name)
        return (os.environ.get(name) if name else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {field: os.environ[var] for field, var in SHARED_ENV.items() if var in os.environ}


class ServiceSettings(BaseSettings):
    """What every Helpt service needs to run: where it listens, its Kafka and its store."""

    model_config = SettingsConfigDict(env_prefix="HELPT_", extra="ignore", frozen=True)

    service: ClassVar[ServiceName]
    default_port: ClassVar[int]

    http_host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    http_port: int = Field(default=0, ge=0, le=65535, description="HTTP port; 0 means the service's default.")
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated.")
    topic_prefix: str = Field(default="", pattern=r"^[a-z0-9._-]*$", description="Prefix on every topic (tests, shared clusters).")
    kafka_sasl_username: str | None = Field(default=None, description="SCRAM-SHA-512 user on Kafka (helpt-<service>); unset: no sign-in.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="That user's password.")
    kafka_tls: bool = Field(default=False, description="Speak TLS to Kafka (SASL_SSL with a user, else SSL).")
    kafka_ca_file: Path | None = Field(default=None, description="CA bundle for Kafka's TLS certificates; unset: the system's.")
    kafka_commit_interval_ms: float = Field(
        default=250.0, ge=0, le=60_000,
        description="A consumer commits the offsets it handled at most this often; after a crash up to this much comes again. 0: at once.")
    mongodb_url: SecretStr = Field(default=SecretStr("mongodb://127.0.0.1:27017/"), description="MongoDB connection URL.")
    mongodb_database: str = Field(default="", description="Database name; empty means helpt_<service>.")
    log_level: str = Field(default="INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    slow_store_command_ms: float = Field(
        default=500.0, ge=0, description="Log a warning for every store command slower than this (its shape only); 0 turns it off.")
    log_json: bool = Field(default=True, description="JSON log lines (false: human-readable console lines).")
    tenants: str = Field(default="leuven", description="Comma-separated municipalities this deployment serves.")
    tenant_dir: Path | None = Field(default=None, description="Directory of tenant profiles (<tenant>.json) added to the shipped ones.")
    jwt_secret_file: Path = Field(default=Path(".state/local/jwt.secret"), description="Local token signing secret (dev, tests).")
    oidc_jwks_url: str | None = Field(default=None, description="OpenID Connect provider's JWKS URL; set in production.")
    oidc_issuer: str | None = Field(default=None, description="Expected token issuer with OIDC.")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Largest request body; a larger one gets 413.")
    body_timeout_s: float = Field(default=30, gt=0, description="Seconds a request's body may take to arrive; then 408.")
    write_rate_limit: int = Field(default=600, ge=0,
                                  description="Writes (POST, PUT, PATCH, DELETE under /api/) one address may send per window; 0: no limit.")
    write_rate_window_s: float = Field(default=60, gt=0, description="The write rate limit's window, in seconds.")
    trust_forwarded_for: bool = Field(
        default=False, description="Take the client's address from X-Forwarded-For (only behind a proxy that sets it).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _SharedEnvironment(settings_cls), dotenv_settings, file_secret_settings

    @property
    def tenant_ids(self) -> tuple[str, ...]:
        """The municipalities served."""
        return tuple(t.strip() for t in self.tenants.split(",") if t.strip())

    def tenant_profiles(self) -> TenantProfiles:
        """The served municipalities' profiles (name, phone, languages, hosts, help addresses); read once, checked."""
        return load_tenant_profiles(self.tenant_ids, self.tenant_dir)

    @property
    def port(self) -> int:
        """The port to listen on."""
        return self.http_port or self.default_port

    @property
    def database_name(self) -> str:
        """The service's own MongoDB database."""
        return self.mongodb_database or f"helpt_{self.service.value}"

    @property
    def consumer_group(self) -> str:
        """The Kafka consumer group all replicas of this service join."""
        return f"{self.topic_prefix}helpt-{self.service.value}"

    def token_verifier(self) -> TokenVerifier:
        """How this service checks bearer tokens: the OIDC provider's keys if configured, else the local secret."""
        if self.oidc_jwks_url:
            # People come through OIDC; Helpt's own services still sign their calls with the shared local secret.
            return TokenVerifier(jwks_url=self.oidc_jwks_url, issuer=self.oidc_issuer,
                                 service_secret=local_secret(self.jwt_secret_file), tenants=self.tenant_ids)
        return TokenVerifier(secret=local_secret(self.jwt_secret_file), tenants=self.tenant_ids)

    def topic(self, name: str) -> str:
        """A contracts topic name as this deployment spells it."""
        return self.topic_prefix + name
