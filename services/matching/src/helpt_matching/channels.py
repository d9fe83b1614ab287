"""How a message leaves matching: e-mail over SMTP, or SMS through an HTTP gateway, behind one interface.

A channel gets the address (revealed by gdpr a moment before) and the rendered message, sends,
and forgets both. It raises on failure; the messenger records only the exception's class.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import httpx

from helpt_contracts.sealed import PersonalField
from helpt_matching.message_texts import Rendered
from helpt_matching.settings import MatchingSettings

__all__ = ["Channel", "EmailChannel", "SmsChannel", "channels_from"]


class Channel(Protocol):
    name: str
    field: PersonalField
    """The personal field this channel sends to (revealed for it, nothing else)."""

    async def send(self, address: str, message_id: str, rendered: Rendered) -> None: ...


class EmailChannel:
    """Plain-text e-mail through an SMTP server (stdlib smtplib, in a worker thread)."""

    name = "email"
    field = PersonalField.EMAIL

    def __init__(self, settings: MatchingSettings) -> None:
        self._settings = settings

    def _message(self, address: str, message_id: str, rendered: Rendered) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._settings.smtp_from
        mail["To"] = address
        mail["Subject"] = rendered.subject
        mail["Date"] = formatdate(localtime=False)
        # The same Message-ID for every attempt: a copy sent again after a crash is recognisably the same mail.
        mail["Message-ID"] = f"<{message_id.replace(':', '.')}@helpt.matching>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(rendered.body)
        mail["Content-Language"] = rendered.language  # after set_content, which drops Content-* headers
        return mail

    def _send(self, mail: EmailMessage) -> None:
        s = self._settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(mail)

    async def send(self, address: str, message_id: str, rendered: Rendered) -> None:
        await asyncio.to_thread(self._send, self._message(address, message_id, rendered))


class SmsChannel:
    """A short text through an HTTP SMS gateway: `POST {url}` with JSON `{"to", "text", "reference"}`."""

    name = "sms"
    field = PersonalField.PHONE

    def __init__(self, settings: MatchingSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        assert settings.sms_gateway_url
        self._url = settings.sms_gateway_url
        token = settings.sms_gateway_token
        self._headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self._transport = transport

    async def send(self, address: str, message_id: str, rendered: Rendered) -> None:
        async with httpx.AsyncClient(timeout=15, transport=self._transport) as http:
            answer = await http.post(self._url, json={"to": address, "text": rendered.short, "reference": message_id},
                                     headers=self._headers)
            answer.raise_for_status()


def channels_from(settings: MatchingSettings) -> dict[str, Channel]:
    """The channels these settings turn on: e-mail unless its port is 0, SMS only with a gateway URL."""
    found: dict[str, Channel] = {}
    if settings.smtp_port:
        found["email"] = EmailChannel(settings)
    if settings.sms_gateway_url:
        found["sms"] = SmsChannel(settings)
    return found
