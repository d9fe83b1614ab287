"""The four Helpt services, and the mail catcher their messages go to, as child processes of `python -m helpt_localstack run`."""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from helpt_localstack.errors import StackError
from helpt_localstack.paths import env_port
from helpt_localstack.procs import Managed, stop_all

DEFAULT_PORTS: Mapping[str, int] = {
    "intake": 8000,
    "screening": 8001,
    "matching": 8002,
    "gdpr": 8003,
}
DEFAULT_SMTP_PORT = 2525  # intake's SMTP endpoint for the help addresses
DEFAULT_HELP_ADDRESS = "help@leuven.helpt.local"
DEFAULT_CATCHER_HTTP_PORT = 8025  # the mail catcher's pages: every message matching sends, delivered to nobody
DEFAULT_CATCHER_SMTP_PORT = 1025
READY_DEADLINE_S = 60.0
STOP_TIMEOUT_S = 15.0


@dataclass
class Service:
    name: str
    module: str
    port: int
    managed: Managed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def plan(
    state_dir: Path, ports: Mapping[str, int] = DEFAULT_PORTS, module_template: str = "helpt_{name}"
) -> list[Service]:
    """One Service per name; HELPT_<NAME>_HTTP_PORT in the environment overrides the port."""
    services = []
    for name, default in ports.items():
        port = env_port(f"HELPT_{name.upper()}_HTTP_PORT", default)
        managed = Managed(name, state_dir / f"{name}.pid", state_dir / "logs" / f"{name}.log")
        services.append(Service(name, module_template.format(name=name), port, managed))
    return services


def smtp_port() -> int:
    """Where the local intake takes mail for the help addresses; HELPT_INTAKE_SMTP_PORT overrides, 0 turns it off."""
    return env_port("HELPT_INTAKE_SMTP_PORT", DEFAULT_SMTP_PORT)


def catcher_smtp_port() -> int:
    """Where the local mail catcher takes the services' outgoing mail; HELPT_MAILCATCHER_SMTP_PORT overrides."""
    return env_port("HELPT_MAILCATCHER_SMTP_PORT", DEFAULT_CATCHER_SMTP_PORT)


def mail_catcher(state_dir: Path) -> Service:
    """The local SMTP capture server (helpt_platform.mailcatcher); HELPT_MAILCATCHER_HTTP_PORT overrides its page port."""
    port = env_port("HELPT_MAILCATCHER_HTTP_PORT", DEFAULT_CATCHER_HTTP_PORT)
    managed = Managed("mailcatcher", state_dir / "mailcatcher.pid", state_dir / "logs" / "mailcatcher.log")
    return Service("mailcatcher", "helpt_platform.mailcatcher", port, managed)


def service_env(service: Service, bootstrap_servers: str, mongodb_url: str, state_dir: Path,
                gdpr_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if gdpr_url:  # every service that seals or reveals finds gdpr where this stack runs it
        env[f"HELPT_{service.name.upper()}_GDPR_URL"] = gdpr_url
    prefix = f"HELPT_{service.name.upper()}_HTTP"
    if service.name == "intake":
        env.update({"HELPT_INTAKE_SMTP_PORT": str(smtp_port()), "HELPT_INTAKE_SMTP_HOST": "127.0.0.1"})
    if service.name == "matching":  # its messages go to the local mail catcher; its offer links point at itself
        env.update({"HELPT_MATCHING_SMTP_HOST": "127.0.0.1", "HELPT_MATCHING_SMTP_PORT": str(catcher_smtp_port())})
        env.setdefault("HELPT_MATCHING_PUBLIC_URL", service.url)
    if service.name == "mailcatcher":
        env.update({"HELPT_MAILCATCHER_SMTP_PORT": str(catcher_smtp_port()),
                    "HELPT_MAILCATCHER_DIR": os.environ.get("HELPT_MAILCATCHER_DIR", str(state_dir / "mail"))})
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "MONGODB_URL": mongodb_url,
            f"{prefix}_PORT": str(service.port),
            f"{prefix}_HOST": "127.0.0.1",
            # The local stack's secrets live in its state dir, shared by the services and `make token`.
            "HELPT_JWT_SECRET_FILE": os.environ.get("HELPT_JWT_SECRET_FILE", str(state_dir / "jwt.secret")),
            "HELPT_GDPR_KEY_DIR": os.environ.get("HELPT_GDPR_KEY_DIR", str(state_dir / "gdpr-keys")),
            # Without it a crash's last lines may stay in a buffer instead of the log file.
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start(
    services: Sequence[Service], state_dir: Path, bootstrap_servers: str, mongodb_url: str
) -> None:
    gdpr_url = next((s.url for s in services if s.name == "gdpr"), None)
    for service in services:
        service.managed.log_file.parent.mkdir(parents=True, exist_ok=True)
        service.managed.start(
            [sys.executable, "-m", service.module],
            state_dir,
            env=service_env(service, bootstrap_servers, mongodb_url, state_dir, gdpr_url),
        )


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_ready(services: Sequence[Service], deadline_s: float = READY_DEADLINE_S) -> None:
    """Return once every service's /readyz answers 200; raise naming the first that fails."""
    deadline = time.monotonic() + deadline_s
    pending = list(services)
    while pending:
        for service in list(pending):
            code = service.managed.exit_code()
            if code is not None:
                raise StackError(
                    f"Service {service.name} ({service.module}) exited with code {code}. "
                    f"Last lines of {service.managed.log_file}:\n{service.managed.tail()}"
                )
            if _ready(service.url):
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            service = pending[0]
            raise StackError(
                f"Service {service.name} did not answer 200 on {service.url}/readyz within "
                f"{deadline_s:.0f} s. Last lines of {service.managed.log_file}:\n"
                + service.managed.tail()
            )
        if pending:
            time.sleep(0.3)


def first_exited(services: Sequence[Service]) -> Service | None:
    return next((s for s in services if s.managed.exit_code() is not None), None)


def stop(services: Sequence[Service], state_dir: Path) -> None:
    stop_all([s.managed for s in services], state_dir, STOP_TIMEOUT_S)
