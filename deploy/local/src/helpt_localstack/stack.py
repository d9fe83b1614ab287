"""LocalStack: real Kafka (KRaft) and FerretDB (on PostgreSQL) as local processes, health-checked."""

from __future__ import annotations

import atexit
import json
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

from helpt_localstack import ferretdb, kafka, postgres
from helpt_localstack.errors import MissingToolError, StackError
from helpt_localstack.health import in_fresh_thread, wait_healthy
from helpt_localstack.paths import (
    DEFAULT_KAFKA_CONTROLLER_PORT,
    DEFAULT_KAFKA_PORT,
    DEFAULT_MONGODB_PORT,
    default_state_dir,
    port_is_free,
    resolve_port,
)
from helpt_localstack.procs import Managed, stop_all
from helpt_localstack.tools import (
    check_tools,
    ensure_ferretdb,
    ensure_kafka,
    ferretdb_installed,
    kafka_installed,
)

__all__ = ["LocalStack", "MissingToolError", "StackError"]

KAFKA_DEADLINE_S = 90.0
FERRETDB_DEADLINE_S = 30.0
POSTGRES_DEADLINE_S = 60.0
STOP_TIMEOUT_S = 30.0
INFO_FILE = "stack.json"


class LocalStack:
    """Kafka and FerretDB (on PostgreSQL) on 127.0.0.1, data and logs under one state directory."""

    def __init__(
        self,
        state_dir: Path | None = None,
        kafka_port: int | None = None,
        kafka_controller_port: int | None = None,
        mongodb_port: int | None = None,
        kafka_sasl_port: int | None = None,
        postgres_port: int | None = None,
    ) -> None:
        self.state_dir = Path(state_dir or default_state_dir()).expanduser().resolve()
        self.kafka_port = resolve_port(kafka_port, "HELPT_KAFKA_PORT", DEFAULT_KAFKA_PORT)
        self.kafka_controller_port = resolve_port(
            kafka_controller_port, "HELPT_KAFKA_CONTROLLER_PORT", DEFAULT_KAFKA_CONTROLLER_PORT
        )
        self.mongodb_port = resolve_port(mongodb_port, "HELPT_MONGODB_PORT", DEFAULT_MONGODB_PORT)
        # FerretDB's own server: nothing else talks to it, so any free port unless one is asked for.
        self.postgres_port = resolve_port(postgres_port, "HELPT_POSTGRES_PORT", 0)
        # A SASL/SCRAM listener with ACLs (helpt_localstack.kafka_security), off unless asked for.
        self.kafka_sasl_port = resolve_port(kafka_sasl_port, "HELPT_KAFKA_SASL_PORT", 0) if kafka_sasl_port is not None else None
        self.log_dir = self.state_dir / "logs"
        self.kafka = Managed("kafka", self.state_dir / "kafka.pid", self.log_dir / "kafka.log")
        self.ferretdb = Managed(
            "ferretdb", self.state_dir / "ferretdb.pid", self.log_dir / "ferretdb.log"
        )
        self.postgres = Managed("postgres", self.state_dir / "postgres.pid", self.log_dir / "postgres.log")
        self._started = False

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongodb_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.mongodb_port}/"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Install what is missing, start both servers and wait until both really work."""
        if self._started:
            return
        # Leftovers of a crashed run would hold the ports and the data files.
        stop_all([self.kafka, self.ferretdb, self.postgres], self.state_dir, STOP_TIMEOUT_S)
        needed = ["java"]
        needed += [] if kafka_installed() else ["mvn"]
        needed += [] if ferretdb_installed() else ["go"]
        tools = check_tools(needed)
        kafka_libs = ensure_kafka() / "libs"
        ferretdb_bin = ensure_ferretdb()
        postgres.binaries()  # missing: say so before anything starts
        self._check_ports()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        self._started = True
        try:
            self._start_postgres()
            self._start_ferretdb(ferretdb_bin)
            self._start_kafka(tools["java"], kafka_libs)
            wait_healthy(
                self.ferretdb,
                "FerretDB",
                FERRETDB_DEADLINE_S,
                self.mongodb_port,
                lambda t: ferretdb.check_insert_find(self.mongodb_url, t),
            )
            wait_healthy(
                self.kafka,
                "Kafka",
                KAFKA_DEADLINE_S,
                self.kafka_port,
                lambda t: in_fresh_thread(
                    lambda: kafka.check_round_trip(self.bootstrap_servers, t)
                ),
            )
        except BaseException:
            self.stop()
            raise
        (self.state_dir / INFO_FILE).write_text(
            json.dumps(
                {
                    "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                    "MONGODB_URL": self.mongodb_url,
                }
            ),
            encoding="utf-8",
        )

    def stop(self) -> None:
        """Stop the servers (SIGTERM, then SIGKILL after a grace period); safe to repeat. The data stays."""
        atexit.unregister(self.stop)
        stop_all([self.kafka, self.ferretdb], self.state_dir, STOP_TIMEOUT_S)
        stop_all([self.postgres], self.state_dir, STOP_TIMEOUT_S)  # after FerretDB, its only client
        (self.state_dir / INFO_FILE).unlink(missing_ok=True)
        self._started = False

    def pids(self) -> list[int]:
        return [pid for item in (self.kafka, self.ferretdb, self.postgres) if (pid := item.pid) is not None]

    def _check_ports(self) -> None:
        ports = {
            "HELPT_KAFKA_PORT": self.kafka_port,
            "HELPT_KAFKA_CONTROLLER_PORT": self.kafka_controller_port,
            "HELPT_MONGODB_PORT": self.mongodb_port,
            "HELPT_POSTGRES_PORT": self.postgres_port,
        }
        if len(set(ports.values())) != len(ports):
            raise StackError(f"The stack needs four different ports, got {ports}")
        busy = [f"{port} ({name})" for name, port in ports.items() if not port_is_free(port)]
        if busy:
            raise StackError(
                f"Port(s) already in use on 127.0.0.1: {', '.join(busy)}. Stop what uses them, "
                "run `python -m helpt_localstack down`, or choose other ports with those variables."
            )

    def _start_postgres(self) -> None:
        home = postgres.prepare(self.state_dir)
        user = postgres.run_as()
        self.postgres.start(postgres.command(home, self.postgres_port), self.state_dir, cwd=home,
                            user=(user.pw_uid, user.pw_gid) if user else None)
        wait_healthy(self.postgres, "PostgreSQL", POSTGRES_DEADLINE_S, self.postgres_port,
                     lambda t: postgres.ensure_database(self.postgres_port))

    def _start_ferretdb(self, binary: Path) -> None:
        home = self.state_dir / "ferretdb"
        home.mkdir(parents=True, exist_ok=True)
        self.ferretdb.start(
            ferretdb.command(binary, home, self.mongodb_port, postgres.url(self.postgres_port)), self.state_dir, cwd=home
        )

    def _start_kafka(self, java: str, libs: Path) -> None:
        home = self.state_dir / "kafka"
        data = home / "data"
        data.mkdir(parents=True, exist_ok=True)
        properties, log4j = home / "server.properties", home / "log4j2.properties"
        properties.write_text(
            kafka.render_server_properties(data, self.kafka_port, self.kafka_controller_port, self.kafka_sasl_port),
            encoding="utf-8",
        )
        log4j.write_text(kafka.render_log4j2(), encoding="utf-8")
        if not kafka.is_formatted(data):
            cmd = kafka.format_command(java, libs, log4j, properties, kafka.new_cluster_id())
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
            except subprocess.TimeoutExpired as exc:
                raise StackError("Formatting Kafka storage did not finish within 120 s") from exc
            if out.returncode != 0:
                tail = "\n".join((out.stdout + out.stderr).splitlines()[-30:])
                raise StackError(
                    f"Formatting Kafka storage failed (exit {out.returncode}):\n{tail}"
                )
        self.kafka.start(
            kafka.broker_command(java, libs, log4j, properties), self.state_dir, cwd=home
        )
