"""Composition root of the gdpr service."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event, PurgeCompleted, SubjectDataExported
from helpt_gdpr.access import SubjectAccess
from helpt_gdpr.actions import Actions
from helpt_gdpr.api import audit_denial, router
from helpt_gdpr.pages import pages
from helpt_gdpr.audit import AuditLog
from helpt_gdpr.custody import KeyCustody
from helpt_gdpr.keeper import Keeper
from helpt_gdpr.purges import Purges
from helpt_gdpr.settings import GdprSettings
from helpt_gdpr.tenant_keys import FileTenantKeys, TenantKeyProvider
from helpt_platform.auth import Refusal, TokenVerifier
from helpt_platform.consumers import subscribe_events
from helpt_platform.kafka import create_router, publish_event
from helpt_platform.logs import get_logger
from helpt_platform.service import Runtime, create_service_app, every

log = get_logger(__name__)

# The topics that tell gdpr which actions (requests, screening cases, matches, mails in triage) are open.
ACTION_TOPICS = (topics.HELP_REQUESTS, topics.VOLUNTEERS, topics.SCREENING_DECISIONS, topics.MATCHES, topics.MAIL)


class GdprParts:
    """The gdpr service's parts, assembled once the store is there (first use)."""

    def __init__(self, settings: GdprSettings, tenant_keys: TenantKeyProvider) -> None:
        self.settings = settings
        self.tenant_keys = tenant_keys
        self.verifier: TokenVerifier = settings.token_verifier()
        self.runtime: Runtime | None = None
        self._ready: tuple[Keeper, Purges, SubjectAccess] | None = None
        self._lock = asyncio.Lock()

    async def _assemble(self) -> tuple[Keeper, Purges, SubjectAccess]:
        if self._ready is None:
            async with self._lock:
                if self._ready is None:
                    runtime = self.runtime
                    assert runtime is not None, "the lifespan has not started"
                    db = runtime.db
                    keeper = Keeper(
                        KeyCustody(db, self.tenant_keys), AuditLog(db["audit"]), Actions(db["actions"]),
                        phone_region=self.settings.phone_region,
                    )
                    await keeper.custody.ensure_indexes()
                    await keeper.audit.ensure_indexes()
                    await self._provision(keeper, db["purged_tenants"])

                    async def publish(event: Event) -> object:
                        return await publish_event(runtime.broker, self.settings, event)

                    self._ready = (
                        keeper, Purges(db, keeper, publish, self.settings.tenant_ids), SubjectAccess(db, keeper, publish),
                    )
        return self._ready

    async def keeper(self) -> Keeper:
        return (await self._assemble())[0]

    async def purges(self) -> Purges:
        return (await self._assemble())[1]

    async def access(self) -> SubjectAccess:
        return (await self._assemble())[2]

    async def _provision(self, keeper: Keeper, tombstones) -> None:
        for tenant in self.settings.tenant_ids:
            if await tombstones.find_one({"_id": tenant}) is None and await self.tenant_keys.get(tenant) is None:
                await self.tenant_keys.create(tenant)
                await keeper.audit.append(tenant, "tenant-key-create", "done", actor="gdpr", role="service")
                log.info("tenant key created", tenant=tenant, custody=self.tenant_keys.describe())

    async def announce_pending(self, _runtime: Runtime) -> None:
        """Re-send erasures and purges an outage left unannounced (their keys are already gone)."""
        if sent := await (await self.purges()).announce_pending():
            log.info("unannounced purges sent", count=sent)

    def consumers(self, runtime: Runtime) -> KafkaRouter:
        """gdpr's subscribers: the open-actions projection and the purge receipts."""
        self.runtime = runtime
        kafka = create_router(self.settings)

        async def learn_actions(envelope: Envelope, event: Event) -> None:
            """Which requests, screening cases, matches and mails in triage are open, and whose."""
            await (await self.keeper()).actions.apply(event, envelope.id)

        async def collect_receipt(_envelope: Envelope, event: Event) -> None:
            """A service's receipt for an erasure or a purge, or its answer to a subject access request."""
            if isinstance(event, PurgeCompleted):
                await (await self.purges()).record_receipt(event)
            elif isinstance(event, SubjectDataExported):
                await (await self.access()).record_answer(event)

        for topic in ACTION_TOPICS:
            subscribe_events(kafka, self.settings, topic, learn_actions)
        subscribe_events(kafka, self.settings, topics.GDPR_RECEIPTS, collect_receipt)
        return kafka


def create_app(settings: GdprSettings | None = None, *, tenant_keys: TenantKeyProvider | None = None) -> FastAPI:
    """The gdpr service's HTTP app with its Kafka consumers and store."""
    settings = settings or GdprSettings()
    parts = GdprParts(settings, tenant_keys or FileTenantKeys(settings.key_dir))
    app = create_service_app(
        settings,
        title="Helpt gdpr",
        description="Holds every key to personal data: seal, scoped and audited reveal, erasure, end-of-crisis purge.",
        kafka_consumers=[parts.consumers],
        http_routers=[router, pages],
        background=[every(settings.announce_retry_s, parts.announce_pending)],
    )
    app.state.gdpr = parts
    app.add_exception_handler(Refusal, audit_denial)  # every 401/403 in the audit log
    return app
