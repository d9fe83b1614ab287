"""Reading a mail to the help address: who wrote, what they wrote, and how many attachments.

Pure functions, no I/O. Attachments are counted and dropped: they are not kept anywhere, so an
operator asks the sender for them if needed. The text becomes one free-text `note`, cut to what
gdpr seals in one field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

from helpt_contracts.sealed import PersonalField

__all__ = ["NAME_LIMIT", "NOTE_LIMIT", "ParsedMail", "html_to_text", "parse_mail"]

NOTE_LIMIT = 4000  # gdpr seals at most 4,000 characters a field
NAME_LIMIT = 200  # the longest name the operator's form takes
EMAIL_LIMIT = 254  # the longest address SMTP allows, and gdpr's blind index takes
SHORTENED = "\n[… shortened: the mail was longer]"
NO_TEXT = "(the mail has no text)"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ParsedMail:
    """What triage keeps of a mail (sealed), and what it may say about it (the counts)."""

    name: str | None
    email: str | None
    note: str
    attachments: int
    shortened: bool

    def personal(self) -> dict[PersonalField, str]:
        """The fields to seal: the sender's name and address when given, and the text."""
        fields = {PersonalField.NAME: self.name, PersonalField.EMAIL: self.email, PersonalField.NOTE: self.note}
        return {f: v for f, v in fields.items() if v}


class _TextOfHtml(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title", "template"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "section",
                        "article", "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: no tags, scripts or styles; one line a block."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return _tidy("\n".join(lines))


def _tidy(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken encoding: read what we can
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else _tidy(content)


def _attachments(part: EmailMessage, body: EmailMessage | None) -> int:
    if part is body:
        return 0
    if part.get_content_disposition() == "attachment" or part.get_content_type() == "message/rfc822":
        return 1
    if part.is_multipart():
        return sum(_attachments(p, body) for p in part.iter_parts())
    return 0 if part.get_content_maintype() == "text" else 1  # inline images and the like


def _sender(message: EmailMessage, envelope_from: str | None) -> tuple[str | None, str | None]:
    name, address = "", ""
    try:
        header = message.get("from")
        found = getattr(header, "addresses", ()) if header is not None else ()
        if found:
            name, address = found[0].display_name, found[0].addr_spec
        elif header is not None:
            name, address = parseaddr(str(header))
    except Exception:  # noqa: BLE001 — a malformed From header: fall back to the envelope
        name, address = "", ""
    address = (address or envelope_from or "").strip().strip("<>")
    name = _CONTROL.sub("", " ".join((name or "").split()))[:NAME_LIMIT].strip()
    return name or None, (address if "@" in address and len(address) <= EMAIL_LIMIT else None)


def parse_mail(raw: bytes, envelope_from: str | None = None) -> ParsedMail:
    """Sender, text (plain preferred, else HTML made text) and attachment count of one mail."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    name, address = _sender(message, envelope_from)
    try:
        subject = " ".join(str(message.get("subject", "")).split())
    except Exception:  # noqa: BLE001 — an undecodable subject is left out, the mail is still read
        subject = ""
    body = message.get_body(preferencelist=("plain", "html"))
    text = _text_of(body) if body is not None else ""
    note = "\n\n".join(p for p in (f"Subject: {_CONTROL.sub('', subject)}" if subject else "", text) if p) or NO_TEXT
    shortened = len(note) > NOTE_LIMIT
    if shortened:
        note = note[: NOTE_LIMIT - len(SHORTENED)].rstrip() + SHORTENED
    return ParsedMail(name, address, note, _attachments(message, body), shortened)
