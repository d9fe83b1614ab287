"""The local mail catcher: it keeps every message it is sent, shows it on accessible pages and in JSON, and keeps it on disk."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from helpt_platform.mailcatcher import MailCatcher
from helpt_platform.testing import axe_violations, chromium, mail_catcher


def send(port: int, to: str, subject: str, text: str, language: str = "en") -> None:
    mail = EmailMessage()
    mail["From"] = "Helpt <no-reply@helpt.local>"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(text)
    mail["Content-Language"] = language
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(mail)


def test_every_message_sent_is_listed_shown_with_its_link_and_kept_as_an_eml_file(tmp_path):
    with mail_catcher(tmp_path / "mail") as catcher:
        send(catcher.smtp_port, "an@example.org", "Kun je helpen? boodschappen", "Open:\nhttp://127.0.0.1:8002/m/abc.def\n", "nl")
        send(catcher.smtp_port, "other@example.org", "Second", "No link here")
        listed = httpx.get(f"{catcher.url}/api/messages").json()
        assert [(m["to"], m["subject"], m["language"]) for m in listed] == [
            (["an@example.org"], "Kun je helpen? boodschappen", "nl"), (["other@example.org"], "Second", "en")]
        assert "http://127.0.0.1:8002/m/abc.def" in listed[0]["text"]
        assert [m.subject for m in catcher.mails(to="other@example.org")] == ["Second"]
        page = httpx.get(f"{catcher.url}/")
        assert page.status_code == 200 and "Kun je helpen? boodschappen" in page.text and "Second" in page.text
        shown = httpx.get(f"{catcher.url}/messages/1")
        assert '<a href="http://127.0.0.1:8002/m/abc.def">' in shown.text and '<pre lang="nl">' in shown.text
        assert httpx.get(f"{catcher.url}/messages/1.eml").content.startswith(b"From: Helpt")
        assert httpx.get(f"{catcher.url}/messages/99").status_code == 404
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == ["000001.eml", "000002.eml"]
    again = MailCatcher(tmp_path / "mail")  # a restarted catcher shows what it caught before
    assert [m.subject for m in again.mails()] == ["Kun je helpen? boodschappen", "Second"]


def test_a_stopped_catcher_refuses_connections_and_takes_mail_again_on_the_same_port_once_started(tmp_path):
    with mail_catcher() as catcher:
        catcher.stop()
        with pytest.raises(OSError):
            send(catcher.smtp_port, "an@example.org", "Lost?", "text")
        catcher.start()
        send(catcher.smtp_port, "an@example.org", "Found", "text")
        assert [m.subject for m in catcher.mails()] == ["Found"]


@pytest.mark.browser
def test_the_catcher_pages_pass_axe(tmp_path):
    with mail_catcher() as catcher, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{catcher.url}/")
        assert axe_violations(page) == [], "empty list"
        send(catcher.smtp_port, "an@example.org", "Pouvez-vous aider ?", "Lien :\nhttp://127.0.0.1:8002/m/abc\n", "fr")
        for path in ("/", "/messages/1", "/messages/42"):
            page.goto(f"{catcher.url}{path}")
            assert axe_violations(page) == [], path
