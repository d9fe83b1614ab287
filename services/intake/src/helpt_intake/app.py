"""Composition root of the intake service."""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from helpt_contracts.envelope import Envelope
from helpt_contracts.events import Event
from helpt_contracts.roles import Role
from helpt_intake.api import router
from helpt_intake.case_events import case_status_router
from helpt_intake.changes_api import changes_router
from helpt_intake.cases import CaseBook
from helpt_intake.console_api import console_router
from helpt_intake.console import console
from helpt_intake.web import RateLimiter, pages, unknown_municipality
from helpt_intake.catalogue import CatalogueStore
from helpt_intake.catalogue_api import router as catalogue_router
from helpt_intake.mail_api import mail_router
from helpt_intake.mailbox import mailbox
from helpt_intake.outbox import CaseRelay
from helpt_intake.i18n import languages
from helpt_intake.settings import IntakeSettings, refuse_retired_settings
from helpt_intake.tenancy import TenantResolver, profile_of
from helpt_intake.submissions import Intake
from helpt_intake.triage import MailTriage
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.gdpr_client import GdprClient
from helpt_platform.kafka import publish_event
from helpt_platform.logs import get_logger
from helpt_platform.purge import gdpr_command_router
from helpt_platform.service import Runtime, create_service_app, document_answers, every
from helpt_platform.tenants import TenantProfileError
from helpt_platform.keys import id_text_job

MAX_BODY = 64 * 1024
log = get_logger(__name__)


def check_tenant_profiles(settings: IntakeSettings) -> None:
    """At start-up: every municipality served has a valid profile whose languages have texts here."""
    profiles = settings.tenant_profiles()  # raises TenantProfileError, naming the file and the problem
    if settings.default_tenant not in profiles:
        raise TenantProfileError(f"HELPT_INTAKE_DEFAULT_TENANT {settings.default_tenant} is not in HELPT_TENANTS")
    for profile in profiles.values():
        if untranslated := [lang for lang in profile.languages if lang not in languages()]:
            raise TenantProfileError(f"tenant profile {profile.id}: no texts in {', '.join(untranslated)} "
                                     f"(we have {', '.join(languages())}; `make messages NEW=<lang>` starts one)")


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake service's HTTP app with its Kafka broker, store and subscribers."""
    settings = settings or IntakeSettings()
    refuse_retired_settings(os.environ, settings)
    check_tenant_profiles(settings)

    async def relay_unsent(runtime: Runtime) -> None:
        async def publish(event: Event, envelope: Envelope) -> object:
            return await publish_event(runtime.broker, settings, event, envelope=envelope)

        await CaseRelay(runtime.db, publish, settings.outbox_grace_s).run_once()
    app = create_service_app(
        settings,
        title="Helpt intake",
        description="Where every request for help and every offer arrives: web forms, phone console, e-mail, API.",
        kafka_consumers=[gdpr_command_router, case_status_router],
        http_routers=[router, changes_router, catalogue_router, mail_router, console_router, console, pages],  # pages last: it answers every other /<lang>/ address
        background=[id_text_job("cases"), mailbox(settings, lambda: app.state.mail_triage), every(settings.relay_interval_s, relay_unsent)],
    )
    app.state.settings = settings
    app.state.form_limiter = RateLimiter(settings.form_rate_limit, settings.form_rate_window_s)
    secret = functools.cache(lambda: local_secret(settings.jwt_secret_file))  # read on first use, not at import
    gdpr = GdprClient(settings.gdpr_url, lambda tenant: issue_token(secret(), sub="intake", role=Role.SERVICE, tenant=tenant))
    app.state.mail_triage = MailTriage(settings, gdpr, lambda: app.state.runtime)
    built: list[Intake] = []

    def intake() -> Intake:
        if not built:  # the store and broker exist once the lifespan has started
            runtime = app.state.runtime

            async def publish(event: Event, envelope: Envelope | None = None) -> object:
                return await publish_event(runtime.broker, settings, event, envelope=envelope)

            async def kafka_answers() -> bool:
                return await runtime.broker.ping(timeout=3)

            built.append(Intake(settings, runtime.db, gdpr, publish, runtime.kafka_started.is_set, kafka_answers))
        return built[0]

    app.state.intake = intake
    app.state.token_verifier = functools.cache(settings.token_verifier)  # built on first use: it may read the secret file
    books: list[CaseBook] = []

    def case_book() -> CaseBook:
        if not books:
            books.append(CaseBook(settings, app.state.runtime.db, gdpr))
        return books[0]

    app.state.case_book = case_book
    stores: list[CatalogueStore] = []

    def catalogues() -> CatalogueStore:
        if not stores:  # like intake(): the store exists once the lifespan has started
            stores.append(CatalogueStore(app.state.runtime.db, settings.tenant_ids, help_phone=settings.help_phone_of))
        return stores[0]

    app.state.catalogues = catalogues

    @app.exception_handler(PyMongoError)
    async def store_unavailable(request: Request, exc: PyMongoError) -> JSONResponse:
        # The store is away or failing (unreachable, or interrupted while it shuts down): as when gdpr or Kafka
        # is, a 503 with the help desk's number, not a 500. The error's type is logged, never its message.
        log.warning("store error answered 503", error=type(exc).__name__)
        return JSONResponse({"detail": f"We cannot take your message right now. Please try again in a few minutes, "
                                       f"or call {profile_of(request).help_phone}."}, status_code=503)

    @app.middleware("http")
    async def refuse_unreadable_bodies(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Before any parsing: a body too large or not JSON gets its own clear 4xx.
        if request.method in ("POST", "PATCH") and request.url.path.startswith("/api/"):
            if not request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
                return JSONResponse({"detail": "send JSON (Content-Type: application/json)"}, status_code=415)
            length = request.headers.get("content-length")
            if length is None or not length.isdigit() or int(length) > MAX_BODY:
                return JSONResponse({"detail": f"the body must be at most {MAX_BODY // 1024} KB, with its length given"},
                                    status_code=413 if length and length.isdigit() else 411)
        return await call_next(request)

    is_json_write = lambda method, _operation: method.upper() in ("POST", "PATCH")  # noqa: E731 — the middleware above
    app.add_middleware(TenantResolver, settings=settings, unknown=unknown_municipality)  # last added: outermost
    document_answers(app, {411: (is_json_write, "The body's length is not given"),
                           413: (is_json_write, f"The body is larger than {MAX_BODY // 1024} KB"),
                           415: (is_json_write, "Not sent as JSON (Content-Type: application/json)")})
    return app
