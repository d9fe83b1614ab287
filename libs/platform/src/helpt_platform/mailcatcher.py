"""A local SMTP capture server ("mail catcher"): every message a service sends is kept and shown, none delivered.

For development and tests only. It accepts any message over SMTP, keeps it in memory and as an
`.eml` file in its directory (reloaded on start), and serves an accessible HTML list and message
view, and a JSON list, over HTTP. The kept messages hold real-looking addresses: the directory is
the local state directory's, never a production volume.

    python -m helpt_platform.mailcatcher   # SMTP on 127.0.0.1:1025, pages on http://127.0.0.1:8025/

Environment: HELPT_MAILCATCHER_SMTP_PORT, HELPT_MAILCATCHER_HTTP_HOST, HELPT_MAILCATCHER_HTTP_PORT,
HELPT_MAILCATCHER_DIR (default .state/local/mail). `make run` starts it and points matching at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import html
import logging
import os
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

__all__ = ["CaughtMail", "MailCatcher", "main"]

DEFAULT_SMTP_PORT = 1025
DEFAULT_HTTP_PORT = 8025


@dataclass(frozen=True)
class CaughtMail:
    """One message as it arrived."""

    number: int
    received_at: dt.datetime
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def sender(self) -> str:
        return str(self.message.get("From", ""))

    @property
    def text(self) -> str:
        """The plain-text body (or the first text part)."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def summary(self) -> dict[str, Any]:
        return {"number": self.number, "received_at": self.received_at.isoformat(), "from": self.sender,
                "to": list(self.recipients), "subject": self.subject, "message_id": str(self.message.get("Message-ID", "")),
                "language": str(self.message.get("Content-Language", "")), "text": self.text}


class MailCatcher:
    """Keeps every message it is sent; `app(...)` serves SMTP and the pages."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._mails: list[CaughtMail] = []
        if directory is not None and directory.is_dir():
            for path in sorted(directory.glob("*.eml")):
                raw = path.read_bytes()
                parsed = email.message_from_bytes(raw, policy=policy.default)
                stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
                self._mails.append(CaughtMail(len(self._mails) + 1, stamp, tuple(str(parsed.get("To", "")).split(", ")), raw))

    def mails(self) -> list[CaughtMail]:
        with self._lock:
            return list(self._mails)

    def keep(self, recipients: list[str], raw: bytes) -> CaughtMail:
        with self._lock:
            mail = CaughtMail(len(self._mails) + 1, dt.datetime.now(dt.UTC), tuple(recipients), raw)
            self._mails.append(mail)
            if self._directory is not None:
                self._directory.mkdir(parents=True, exist_ok=True)
                (self._directory / f"{mail.number:06d}.eml").write_bytes(raw)
        return mail

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 — aiosmtpd's hook name
        self.keep(list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def app(self, smtp_host: str = "127.0.0.1", smtp_port: int = DEFAULT_SMTP_PORT) -> FastAPI:
        """The pages, with the SMTP server running in the app's lifespan (so both stop together)."""
        from aiosmtpd.smtp import SMTP

        @contextlib.asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            logging.getLogger("mail.log").disabled = True  # aiosmtpd logs every command line, addresses included
            loop = asyncio.get_running_loop()
            server = await loop.create_server(
                lambda: SMTP(self, hostname="helpt-mailcatcher", ident="Helpt mail catcher", enable_SMTPUTF8=True, loop=loop),
                smtp_host, smtp_port)
            try:
                yield
            finally:
                server.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 2)

        app = FastAPI(title="Helpt mail catcher", lifespan=lifespan, docs_url=None, redoc_url=None)
        smtp_url = f"smtp://{smtp_host}:{smtp_port}"

        @app.get("/healthz")
        @app.get("/readyz")
        async def ready() -> dict[str, str]:
            return {"status": "ready", "service": "mailcatcher"}

        @app.get("/", response_class=HTMLResponse)
        async def listing() -> HTMLResponse:
            mails = list(reversed(self.mails()))
            rows = "".join(
                f'<tr><td>{m.received_at:%Y-%m-%d %H:%M:%S}</td><td>{_e(", ".join(m.recipients))}</td>'
                f'<td><a href="/messages/{m.number}">{_e(m.subject) or "(no subject)"}</a></td></tr>' for m in mails)
            body = (f"<p>Every message sent to {_e(smtp_url)} is kept here and delivered to nobody. "
                    f'{len(mails)} message{"" if len(mails) == 1 else "s"}; newest first. '
                    '<a href="/">Refresh</a> · <a href="/api/messages">JSON</a></p>')
            body += (f"<table><caption>Messages caught</caption><thead><tr><th scope=\"col\">Received (UTC)</th>"
                     f"<th scope=\"col\">To</th><th scope=\"col\">Subject</th></tr></thead><tbody>{rows}</tbody></table>"
                     if mails else "<p>No messages yet.</p>")
            return _page("Mail catcher", body)

        @app.get("/messages/{number}.eml")  # before /messages/{number}, which would take "1.eml"
        async def raw(number: int) -> Response:
            mail = self._find(number)
            return Response(mail.raw, media_type="message/rfc822") if mail else Response(status_code=404)

        @app.get("/messages/{number}", response_class=HTMLResponse)
        async def show(number: int) -> HTMLResponse:
            mail = self._find(number)
            if mail is None:
                return _page("Message not found", '<p>There is no such message. <a href="/">All messages</a></p>', 404)
            fields = [("From", mail.sender), ("To", ", ".join(mail.recipients)), ("Subject", mail.subject),
                      ("Received", f"{mail.received_at:%Y-%m-%d %H:%M:%S} UTC"),
                      ("Language", str(mail.message.get("Content-Language", "")))]
            details = "".join(f"<dt>{name}</dt><dd>{_e(value)}</dd>" for name, value in fields)
            lang = str(mail.message.get("Content-Language", "")).strip()
            lang_attr = f' lang="{_e(lang)}"' if re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", lang) else ""
            body = (f'<p><a href="/">All messages</a> · <a href="/messages/{number}.eml">Download (.eml)</a></p>'
                    f"<dl>{details}</dl><h2>Text</h2><pre{lang_attr}>{_linked(mail.text)}</pre>")
            return _page(mail.subject or "(no subject)", body)

        @app.get("/api/messages")
        async def as_json() -> list[dict[str, Any]]:
            return [m.summary() for m in self.mails()]

        return app

    def _find(self, number: int) -> CaughtMail | None:
        return next((m for m in self.mails() if m.number == number), None)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _linked(text: str) -> str:
    """Escaped text with its http(s) links made clickable (the offer links are what one opens)."""
    parts = re.split(r"(https?://\S+)", text)
    return "".join(f'<a href="{_e(part)}">{_e(part)}</a>' if i % 2 else _e(part) for i, part in enumerate(parts))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#1a1a1a}"
             "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #767676}"
             "pre{white-space:pre-wrap;background:#f4f4f4;padding:1rem}a{color:#0645ad}dt{font-weight:bold}")
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{_e(title)} — Helpt mail catcher</title><style>{style}</style></head>'
        f"<body><header><p>Helpt mail catcher (local only)</p></header><main><h1>{_e(title)}</h1>{body}</main></body></html>",
        status_code=status)


def main() -> None:
    import uvicorn

    env = os.environ
    catcher = MailCatcher(Path(env.get("HELPT_MAILCATCHER_DIR", ".state/local/mail")))
    smtp_port = int(env.get("HELPT_MAILCATCHER_SMTP_PORT", DEFAULT_SMTP_PORT))
    host = env.get("HELPT_MAILCATCHER_HTTP_HOST", "127.0.0.1")
    port = int(env.get("HELPT_MAILCATCHER_HTTP_PORT", DEFAULT_HTTP_PORT))
    print(f"mail catcher: SMTP on {host}:{smtp_port}, pages on http://{host}:{port}/", flush=True)
    uvicorn.run(catcher.app(host, smtp_port), host=host, port=port)


if __name__ == "__main__":
    main()
