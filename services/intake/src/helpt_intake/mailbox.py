"""The SMTP endpoint of the help addresses: every mail becomes a sealed draft in the triage queue.

Served with aiosmtpd's protocol inside the service's own event loop (not its threaded
Controller), so the handler uses the service's store, broker and gdpr client directly. Answers
in SMTP terms: 550 for an address that is not a help address, 552 for a mail over
`max_mail_bytes`, 451 when gdpr, Kafka or the store is not there (the sending server keeps the
mail and tries again: nothing is lost, nothing is half kept), 250 once the draft is kept and
announced. aiosmtpd's own logger writes every command line, addresses included, so it is
switched off; our lines carry ids and counts only.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from helpt_intake.mailparse import parse_mail
from helpt_intake.settings import IntakeSettings
from helpt_intake.triage import MailTriage
from helpt_platform.auth import Refusal
from helpt_platform.logs import get_logger
from helpt_platform.service import BackgroundJob, Runtime

__all__ = ["HelpMailHandler", "mailbox"]

log = get_logger(__name__)
BIND_RETRY_S = 5.0
TRY_LATER = "451 4.3.0 We cannot take mail right now; your mail server will try again"


class HelpMailHandler:
    """aiosmtpd handler: accept mail for the help addresses only, and hand it to triage."""

    def __init__(self, settings: IntakeSettings, triage: MailTriage) -> None:
        self._settings = settings
        self._triage = triage

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        tenant = self._settings.help_address_tenant(address)
        if tenant is None:
            return "550 5.1.1 No such help address here"
        if envelope.rcpt_tos and self._settings.help_address_tenant(envelope.rcpt_tos[0]) != tenant:
            return "452 4.5.3 One municipality per mail, please; send it to the other address separately"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        tenant = self._settings.help_address_tenant(envelope.rcpt_tos[0])
        raw = envelope.original_content or b""
        if tenant is None:  # the settings cannot change under a session; belt and braces
            return "550 5.1.1 No such help address here"
        try:
            mail = parse_mail(raw, envelope.mail_from)
            mail_id = await self._triage.receive(tenant, mail, size=len(raw))
        except Refusal as refusal:
            log.warning("mail not taken", tenant=tenant, status=refusal.status, size=len(raw))
            return TRY_LATER if refusal.status >= 500 else "554 5.3.0 This help address cannot take mail now"
        except Exception as exc:  # noqa: BLE001 — never echo the mail back; the type is enough to debug
            log.warning("mail not taken", tenant=tenant, error=type(exc).__name__, size=len(raw))
            return TRY_LATER
        log.info("mail received for triage", tenant=tenant, mail_id=str(mail_id), size=len(raw),
                 attachments=mail.attachments, shortened=mail.shortened)
        return f"250 2.0.0 Received as {mail_id}; an operator will read it"


def mailbox(settings: IntakeSettings, triage_of: Callable[[], MailTriage]) -> BackgroundJob:
    """A background job serving SMTP on `smtp_host:smtp_port` (none when the port is 0) until shutdown."""

    async def serve(_runtime: Runtime) -> None:
        if not settings.smtp_port:
            return
        triage = triage_of()
        logging.getLogger("mail.log").disabled = True
        loop = asyncio.get_running_loop()
        handler = HelpMailHandler(settings, triage)
        sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

        def protocol() -> SMTP:
            smtp = SMTP(handler, data_size_limit=settings.max_mail_bytes, enable_SMTPUTF8=True,
                        hostname="helpt-intake", ident="Helpt intake", loop=loop)
            sessions.add(smtp)
            return smtp

        server = await _bind(loop, protocol, settings)
        try:
            await asyncio.Event().wait()
        finally:
            server.close()
            for smtp in list(sessions):
                transport: Any = getattr(smtp, "transport", None)
                if transport is not None:
                    transport.close()
            await server.wait_closed()
            log.info("smtp stopped", port=settings.smtp_port)

    return serve


async def _bind(loop: asyncio.AbstractEventLoop, protocol: Any, settings: IntakeSettings) -> asyncio.Server:
    while True:
        try:
            server = await loop.create_server(protocol, settings.smtp_host, settings.smtp_port)
        except OSError as exc:
            log.error("smtp port unavailable; retrying", host=settings.smtp_host, port=settings.smtp_port,
                      error=type(exc).__name__, retry_in_s=BIND_RETRY_S)
            await asyncio.sleep(BIND_RETRY_S)
        else:
            log.info("smtp listening", host=settings.smtp_host, port=settings.smtp_port)
            return server
