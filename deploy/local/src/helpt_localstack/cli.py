"""python -m helpt_localstack install | up | down | run | status"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from helpt_localstack import control, services
from helpt_localstack.choice import docker_answers, external_servers, redact_url
from helpt_localstack.errors import StackError
from helpt_localstack.paths import (
    FERRETDB_VERSION,
    KAFKA_VERSION,
    default_state_dir,
    port_is_free,
)
from helpt_localstack.procs import Managed
from helpt_localstack.stack import LocalStack
from helpt_localstack.tools import (
    check_tools,
    ensure_ferretdb,
    ensure_kafka,
    ferretdb_installed,
    kafka_installed,
)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _handle_signals() -> None:
    # SIGTERM (from `kill`, systemd, a CI runner) takes the same clean path as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def _ignore_signals() -> None:
    # A second Ctrl-C during cleanup would leave processes behind; cleanup is time-bounded.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _watch(watched: Sequence[Managed]) -> None:
    """Block until interrupted; raise if a watched process dies on its own."""
    while True:
        for item in watched:
            code = item.exit_code()
            if code is not None:
                raise StackError(
                    f"{item.name} exited unexpectedly with code {code}. "
                    f"Last lines of {item.log_file}:\n{item.tail()}"
                )
        time.sleep(1)


def cmd_install(state_dir: Path) -> int:
    needed = (
        ["java"] + ([] if kafka_installed() else ["mvn"]) + ([] if ferretdb_installed() else ["go"])
    )
    check_tools(needed)
    for label, installed, ensure in (
        (f"Kafka {KAFKA_VERSION}", kafka_installed, ensure_kafka),
        (f"FerretDB {FERRETDB_VERSION}", ferretdb_installed, ensure_ferretdb),
    ):
        if installed():
            print(f"{label}: cached at {ensure()}")
            continue
        print(f"{label}: installing …", flush=True)
        started = time.monotonic()
        path = ensure()
        print(f"{label}: installed at {path} in {time.monotonic() - started:.0f} s")
    return 0


def cmd_up(state_dir: Path) -> int:
    control.down(state_dir)
    stack = LocalStack(state_dir)
    try:
        stack.start()
        print(f"KAFKA_BOOTSTRAP_SERVERS={stack.bootstrap_servers}")
        print(f"MONGODB_URL={stack.mongodb_url}")
        print(f"# logs in {stack.log_dir}; Ctrl-C stops", flush=True)
        _watch([stack.kafka, stack.ferretdb])
    except KeyboardInterrupt:
        return 0
    finally:
        _ignore_signals()
        stack.stop()
    return 0


def _print_table(running: Sequence[services.Service], bootstrap: str, mongodb_url: str, log_dir: Path) -> None:
    rows = [(s.name, f"{s.url}  (API docs: {s.url}/docs)") for s in running if s.name != "mailcatcher"]
    if services.smtp_port() and any(s.name == "intake" for s in running):
        rows.append(("mail", f"smtp://127.0.0.1:{services.smtp_port()}  (intake; send to {services.DEFAULT_HELP_ADDRESS})"))
    catcher = next((s for s in running if s.name == "mailcatcher"), None)
    if catcher:
        rows.append(("mail out", f"{catcher.url}/  (every message Helpt sends, caught; SMTP 127.0.0.1:{services.catcher_smtp_port()})"))
    rows += [("kafka", bootstrap), ("mongodb", redact_url(mongodb_url)), ("logs", str(log_dir))]
    width = max(len(name) for name, _ in rows)
    print("Helpt is running:")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    intake = next((s for s in running if s.name == "intake"), None)
    if intake:
        print(f"The public pages (help requests, offers of help): {intake.url}/")
    print("Ctrl-C stops everything.", flush=True)


def cmd_run(state_dir: Path, deadline_s: float = services.READY_DEADLINE_S) -> int:
    control.down(state_dir)
    planned = [services.mail_catcher(state_dir), *services.plan(state_dir)]
    busy = [f"{s.port} ({s.name})" for s in planned if not port_is_free(s.port)]
    if not port_is_free(services.catcher_smtp_port()):
        busy.append(f"{services.catcher_smtp_port()} (mail catcher SMTP)")
    if services.smtp_port() and not port_is_free(services.smtp_port()):
        busy.append(f"{services.smtp_port()} (intake mail)")
    if busy:
        raise StackError(f"Service port(s) already in use: {', '.join(busy)}; "
                         "set HELPT_<NAME>_HTTP_PORT (HELPT_INTAKE_SMTP_PORT, HELPT_MAILCATCHER_SMTP_PORT for mail) to choose others.")
    # Servers named in the environment are used as they are; otherwise the local stack runs.
    external = external_servers()
    sasl_port = os.environ.get("HELPT_KAFKA_SASL_PORT")
    stack = None if external else LocalStack(state_dir, kafka_sasl_port=int(sasl_port) if sasl_port else None)
    try:
        if stack is None:
            print("Using Kafka and MongoDB from KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL", flush=True)
            bootstrap, mongodb_url = external
            watched: list[Managed] = []
        else:
            print("Starting Kafka and FerretDB …", flush=True)
            stack.start()
            bootstrap, mongodb_url = stack.bootstrap_servers, stack.mongodb_url
            watched = [stack.kafka, stack.ferretdb]
            if stack.kafka_sasl_port is not None:
                _secure_kafka(stack, state_dir)
        print("Starting the services …", flush=True)
        services.start(planned, state_dir, bootstrap, mongodb_url)
        services.wait_ready(planned, deadline_s)
        _print_table(planned, bootstrap, mongodb_url, state_dir / "logs")
        _watch([*watched, *(s.managed for s in planned)])
    except KeyboardInterrupt:
        return 0
    finally:
        _ignore_signals()
        print("Stopping …", flush=True)
        services.stop(planned, state_dir)
        if stack is not None:
            stack.stop()
    return 0


def _secure_kafka(stack: LocalStack, state_dir: Path) -> None:
    """HELPT_KAFKA_SASL_PORT set: the production ACLs on a SASL/SCRAM listener, a user per service and per partner in
    HELPT_KAFKA_PARTNERS (comma-separated); their passwords in a 0600 file under the state directory."""
    from helpt_localstack import kafka_security

    partners = [p.strip() for p in os.environ.get("HELPT_KAFKA_PARTNERS", "").split(",") if p.strip()]
    users = [kafka_security.service_user(s) for s in kafka_security.SERVICES] + [kafka_security.partner_user(p) for p in partners]
    passwords = {user: secrets.token_urlsafe(24) for user in users}
    kafka_security.apply(stack.bootstrap_servers, kafka_security.plan("", partners), passwords)
    where = state_dir / "kafka-credentials.json"
    fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"sasl_bootstrap": f"127.0.0.1:{stack.kafka_sasl_port}", "mechanism": "SCRAM-SHA-512", "users": passwords}, out)
    print(f"Kafka ACLs on, SASL/SCRAM on 127.0.0.1:{stack.kafka_sasl_port}; credentials in {where}", flush=True)


def cmd_down(state_dir: Path) -> int:
    stopped = [e for e in control.down(state_dir) if e.running]
    print(
        "Stopped: " + ", ".join(f"{e.name} (pid {e.pid})" for e in stopped)
        if stopped
        else f"Nothing was running for {state_dir}"
    )
    return 0


def cmd_status(state_dir: Path) -> int:
    entries = control.status(state_dir)
    if not entries:
        print(f"Nothing is running for {state_dir}")
        return 0
    for e in entries:
        print(
            f"{e.name:<10} pid {e.pid}  "
            + ("running" if e.running else "not running (stale pid file)")
        )
    for key, value in control.urls(state_dir).items():
        print(f"{key}={value}")
    return 0


COMMANDS: dict[str, Callable[[Path], int]] = {
    "install": cmd_install,
    "up": cmd_up,
    "down": cmd_down,
    "run": cmd_run,
    "status": cmd_status,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpt_localstack",
        description="Kafka (KRaft) and FerretDB as local processes, plus the Helpt services.",
    )
    parser.add_argument("command", choices=list(COMMANDS))
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="data, logs and pid files (default: HELPT_STATE_DIR or <repo>/.state/local)",
    )
    args = parser.parse_args(argv)
    state_dir = (args.state_dir or default_state_dir()).expanduser().resolve()
    if args.command in ("up", "run"):
        _handle_signals()
    try:
        return COMMANDS[args.command](state_dir)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
