"""`run`'s service supervision, with a tiny fake service instead of the real ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpt_localstack import services
from helpt_localstack.paths import free_port, port_is_free
from helpt_localstack.procs import is_alive
from helpt_localstack.stack import StackError

FAKE_SERVICE = """
import http.server, json, os
port = int(os.environ["HELPT_FAKE_HTTP_PORT"])
host = os.environ["HELPT_FAKE_HTTP_HOST"]
print("env", json.dumps({k: os.environ[k] for k in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL")}))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()

http.server.HTTPServer((host, port), Handler).serve_forever()
"""


@pytest.fixture
def fake_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "modules"
    pkg.mkdir()
    (pkg / "fakesvc_fake.py").write_text(FAKE_SERVICE)
    (pkg / "fakesvc_broken.py").write_text("raise RuntimeError('cannot connect to the store')\n")
    monkeypatch.setenv("PYTHONPATH", str(pkg))
    return pkg


def test_service_gets_env_becomes_ready_and_is_stopped(tmp_path: Path, fake_modules: Path) -> None:
    state = tmp_path / "state"
    planned = services.plan(state, {"fake": free_port()}, module_template="fakesvc_{name}")
    services.start(planned, state, "127.0.0.1:1234", "mongodb://127.0.0.1:4321/")
    try:
        services.wait_ready(planned, deadline_s=20)
        pid = planned[0].managed.pid
        assert pid is not None and is_alive(pid)
        assert (state / "fake.pid").read_text().strip() == str(pid)
    finally:
        services.stop(planned, state)

    assert not is_alive(pid)
    assert port_is_free(planned[0].port)
    log = (state / "logs" / "fake.log").read_text()
    assert '"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1234"' in log
    assert '"MONGODB_URL": "mongodb://127.0.0.1:4321/"' in log


def test_port_from_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HELPT_MATCHING_HTTP_PORT", "18002")

    ports = {s.name: s.port for s in services.plan(tmp_path)}

    assert ports == {"intake": 8000, "screening": 8001, "matching": 18002, "gdpr": 8003}
    assert [s.module for s in services.plan(tmp_path)][:1] == ["helpt_intake"]


def test_crashing_service_is_named_with_its_log(tmp_path: Path, fake_modules: Path) -> None:
    state = tmp_path / "state"
    planned = services.plan(state, {"broken": free_port()}, module_template="fakesvc_{name}")
    services.start(planned, state, "127.0.0.1:1", "mongodb://127.0.0.1:1/")
    try:
        with pytest.raises(StackError, match=r"(?s)Service broken .*cannot connect to the store"):
            services.wait_ready(planned, deadline_s=20)
    finally:
        services.stop(planned, state)
    assert not (state / "broken.pid").exists()


def test_the_mail_catcher_runs_beside_the_services_and_matching_sends_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import os
    import smtplib
    import urllib.request
    from email.message import EmailMessage

    monkeypatch.setenv("HELPT_MAILCATCHER_HTTP_PORT", str(free_port()))
    monkeypatch.setenv("HELPT_MAILCATCHER_SMTP_PORT", str(free_port()))
    monkeypatch.delenv("HELPT_MATCHING_PUBLIC_URL", raising=False)
    state = tmp_path / "state"
    catcher = services.mail_catcher(state)
    matching = next(s for s in services.plan(state) if s.name == "matching")
    env = services.service_env(matching, "127.0.0.1:1", "mongodb://127.0.0.1:1/", state)
    assert (env["HELPT_MATCHING_SMTP_HOST"], env["HELPT_MATCHING_SMTP_PORT"]) == ("127.0.0.1", os.environ["HELPT_MAILCATCHER_SMTP_PORT"])
    assert env["HELPT_MATCHING_PUBLIC_URL"] == matching.url

    services.start([catcher], state, "127.0.0.1:1", "mongodb://127.0.0.1:1/")
    try:
        services.wait_ready([catcher], deadline_s=30)
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "no-reply@helpt.local", "someone@example.org", "Can you help?"
        mail.set_content("http://127.0.0.1:8002/m/abc")
        with smtplib.SMTP("127.0.0.1", services.catcher_smtp_port(), timeout=10) as smtp:
            smtp.send_message(mail)
        with urllib.request.urlopen(f"{catcher.url}/api/messages", timeout=5) as answer:
            assert [m["subject"] for m in json.load(answer)] == ["Can you help?"]
    finally:
        services.stop([catcher], state)
    assert [p.name for p in (state / "mail").iterdir()] == ["000001.eml"]
