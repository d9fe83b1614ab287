"""The one place that picks Kafka and MongoDB for a test run.

Order: the URLs in the environment; else testcontainers if a Docker engine answers; else
Kafka and FerretDB as local processes. HELPT_TEST_INFRA=env|docker|local forces a choice.
The infrastructure starts the first time a test asks for `infra` and stops at session end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from helpt_localstack import control
from helpt_localstack.choice import docker_answers, external_servers, redact_url
from helpt_localstack.errors import StackError
from helpt_localstack.paths import FERRETDB_VERSION, KAFKA_VERSION, find_repo_root
from helpt_localstack.procs import is_alive, read_pid

KINDS = ("env", "docker", "local")
_KIND_KEY = pytest.StashKey[str]()


@dataclass(frozen=True)
class Infra:
    kind: str
    bootstrap_servers: str
    mongodb_url: str
    # Where the local processes keep Kafka's log segments, FerretDB's files and their logs;
    # None for servers we do not run (environment, Docker), whose bytes we cannot read.
    state_dir: Path | None = None


def choose_kind() -> str:
    forced = os.environ.get("HELPT_TEST_INFRA", "").strip().lower()
    if forced:
        if forced not in KINDS:
            raise pytest.UsageError(
                f"HELPT_TEST_INFRA={forced!r}; expected one of {', '.join(KINDS)}"
            )
        return forced
    if external_servers():
        return "env"
    return "docker" if docker_answers() else "local"


def _kind(config: pytest.Config) -> str:
    if _KIND_KEY not in config.stash:
        config.stash[_KIND_KEY] = choose_kind()
    return config.stash[_KIND_KEY]


def pytest_report_header(config: pytest.Config) -> str:
    kind = _kind(config)
    if kind == "env":
        return (
            f"helpt infrastructure: from the environment "
            f"(KAFKA_BOOTSTRAP_SERVERS={os.environ.get('KAFKA_BOOTSTRAP_SERVERS')}, "
            f"MONGODB_URL={redact_url(os.environ.get('MONGODB_URL', ''))})"
        )
    if kind == "docker":
        return (
            "helpt infrastructure: docker (testcontainers: Kafka + MongoDB), started on first use"
        )
    return (
        f"helpt infrastructure: local processes (Kafka {KAFKA_VERSION} KRaft + "
        f"FerretDB {FERRETDB_VERSION}), started on first use"
    )


def _from_env() -> Iterator[Infra]:
    servers, url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URL")
    if not servers or not url:
        pytest.fail(
            "HELPT_TEST_INFRA=env needs both KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL", pytrace=False
        )
    yield Infra("env", servers, url)


def _from_docker() -> Iterator[Infra]:
    # Imported here: testcontainers is a dev dependency and pulls in the docker SDK.
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.mongodb import MongoDbContainer

    try:
        kafka_container = KafkaContainer("confluentinc/cp-kafka:7.6.0").start()
    except Exception as exc:
        pytest.fail(f"Could not start a Kafka container: {exc}", pytrace=False)
    try:
        mongo_container = MongoDbContainer("mongo:7.0").start()
    except Exception as exc:
        kafka_container.stop()
        pytest.fail(f"Could not start a MongoDB container: {exc}", pytrace=False)
    try:
        yield Infra(
            "docker", kafka_container.get_bootstrap_server(), mongo_container.get_connection_url()
        )
    finally:
        mongo_container.stop()
        kafka_container.stop()


OWNER_FILE = "owner.pid"


def _sweep_abandoned(base: Path) -> None:
    """Stop and delete test stacks whose pytest process died without its teardown (kill -9)."""
    for state_dir in base.glob("test-*"):
        owner = read_pid(state_dir / OWNER_FILE)
        if owner is None:
            # No owner yet may be a concurrent session between mkdtemp and writing the file.
            if time.time() - state_dir.stat().st_mtime < 3600:
                continue
        elif is_alive(owner):
            continue
        control.down(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _from_local() -> Iterator[Infra]:
    from helpt_localstack.stack import LocalStack

    root = find_repo_root()
    base = root / ".state" if root else Path(tempfile.gettempdir()) / "helpt-state"
    base.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(base)
    state_dir = Path(tempfile.mkdtemp(prefix="test-", dir=base))
    (state_dir / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
    # A CI timeout sends SIGTERM; as an interrupt, pytest still runs this teardown.
    restore = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        restore = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    stack = LocalStack(state_dir, kafka_port=0, kafka_controller_port=0, mongodb_port=0)
    try:
        try:
            stack.start()
        except StackError as exc:
            pytest.fail(f"The local Kafka/FerretDB stack did not start:\n{exc}", pytrace=False)
        yield Infra("local", stack.bootstrap_servers, stack.mongodb_url, state_dir)
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[Infra]:
    """Real Kafka and a MongoDB-wire server for the whole session, started on first use."""
    providers = {"env": _from_env, "docker": _from_docker, "local": _from_local}
    yield from providers[_kind(request.config)]()


@pytest.fixture
def unique_name() -> str:
    """A fresh name for this test's topics and databases, so tests never see each other's data."""
    return f"t-{secrets.token_hex(4)}"
