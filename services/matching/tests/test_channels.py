"""The channels behind the messenger: what an e-mail carries, what the SMS gateway is sent, and which channels are on."""

from __future__ import annotations

import asyncio
import json

import httpx

from helpt_matching.channels import EmailChannel, SmsChannel, channels_from
from helpt_matching.message_texts import Kind, render
from helpt_matching.settings import MatchingSettings


def test_an_email_is_plain_text_in_its_language_with_a_message_id_that_names_the_message():
    rendered = render(Kind.TAKEN, "fr", task="shopping")
    mail = EmailChannel(MatchingSettings())._message("someone@example.org", "taken:1234", rendered)
    assert (mail["To"], mail["Subject"], mail["Content-Language"]) == ("someone@example.org", "Déjà prise : shopping", "fr")
    assert mail["Message-ID"] == "<taken.1234@helpt.matching>"
    assert mail.get_content_type() == "text/plain" and "Un autre bénévole" in mail.get_content()


def test_an_sms_posts_the_short_text_to_the_gateway_with_its_token():
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    settings = MatchingSettings(sms_gateway_url="https://sms.example/send", sms_gateway_token="t0k")
    rendered = render(Kind.OFFER, "nl", task="shopping", distance_km=0.5, link="https://helpt.example/m/x")
    asyncio.run(SmsChannel(settings, httpx.MockTransport(gateway)).send("+32470000000", "offer:1", rendered))
    [request] = seen
    assert str(request.url) == "https://sms.example/send" and request.headers["Authorization"] == "Bearer t0k"
    assert json.loads(request.content) == {"to": "+32470000000", "text": rendered.short, "reference": "offer:1"}
    assert "https://helpt.example/m/x" in rendered.short


def test_email_is_on_unless_its_port_is_0_and_sms_only_with_a_gateway():
    assert list(channels_from(MatchingSettings())) == ["email"]
    assert list(channels_from(MatchingSettings(smtp_port=0))) == []
    assert list(channels_from(MatchingSettings(sms_gateway_url="https://sms.example/send"))) == ["email", "sms"]
