"""The Kafka side: configuration files, storage format, command line, health check."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from helpt_localstack.errors import StackError

HEALTH_TOPIC = "helpt.localstack.health"
HEALTH_GROUP = "helpt-localstack-health"


def render_server_properties(data_dir: Path, port: int, controller_port: int, sasl_port: int | None = None) -> str:
    """The broker's configuration; with `sasl_port`, also a SASL/SCRAM listener on which ACLs decide (`kafka_security`)."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # Static quorum: the voter set is in the configuration, so storage is formatted
        # without --standalone and nothing about the quorum lives in the log.
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        "auto.create.topics.enable": "true",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        # 50 partitions (the default) make the first consumer group wait noticeably on 2 cores.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    if sasl_port is not None:
        # A second listener where clients sign in with SCRAM and ACLs decide. The loopback PLAINTEXT listener
        # (the local services, the controller) stays as it was: its anonymous user is a super user.
        settings.update({
            "listeners": f"{settings['listeners']},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
            "advertised.listeners": f"{settings['advertised.listeners']},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
            "listener.security.protocol.map": f"{settings['listener.security.protocol.map']},SASL_PLAINTEXT:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            # The broker only checks SCRAM sign-ins here (credentials live in the cluster's metadata).
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        })
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def render_log4j2() -> str:
    # Everything to stdout, which the stack redirects into <state>/logs/kafka.log, so the
    # JVM's own crash output and Kafka's log end up in one file.
    return "\n".join(
        [
            "status = warn",
            # Kafka logs its shutdown from a JVM shutdown hook; log4j's hook must not stop first.
            "shutdownHook = disable",
            "appender.out.type = Console",
            "appender.out.name = STDOUT",
            "appender.out.layout.type = PatternLayout",
            "appender.out.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.out.ref = STDOUT",
            # The state change and request loggers are chatty at INFO and say nothing useful here.
            "logger.state.name = state.change.logger",
            "logger.state.level = WARN",
            "logger.request.name = kafka.request.logger",
            "logger.request.level = WARN",
            "logger.controller.name = kafka.controller",
            "logger.controller.level = WARN",
            "",
        ]
    )


def new_cluster_id() -> str:
    # Kafka expects the 16 bytes of a UUID, base64url encoded without padding. One id in 64
    # would start with "-", which the format tool's argument parser takes for an option (the
    # storage format then fails at random); Kafka's own generator skips those, and so do we.
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def is_formatted(data_dir: Path) -> bool:
    return (data_dir / "meta.properties").is_file()


def java_command(
    java: str,
    libs: Path,
    log4j_file: Path,
    main: str,
    *args: str,
    heap: tuple[str, str] = ("256m", "768m"),
) -> list[str]:
    return [
        java,
        f"-Xms{heap[0]}",
        f"-Xmx{heap[1]}",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_file}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def format_command(
    java: str, libs: Path, log4j_file: Path, properties: Path, cluster_id: str
) -> list[str]:
    return java_command(
        java,
        libs,
        log4j_file,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(properties),
        heap=("64m", "256m"),
    )


def broker_command(java: str, libs: Path, log4j_file: Path, properties: Path) -> list[str]:
    return java_command(java, libs, log4j_file, "kafka.Kafka", str(properties))


async def round_trip(bootstrap_servers: str, timeout: float) -> None:
    """Produce one unique message with acks=all and read it back; raises on any failure."""
    token = uuid.uuid4().hex.encode("ascii")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        request_timeout_ms=int(timeout * 1000),
        metadata_max_age_ms=1000,
    )
    await producer.start()
    try:
        meta = await producer.send_and_wait(HEALTH_TOPIC, token, key=token)
    finally:
        await producer.stop()
    # A group id plus a commit makes the broker create its offsets topic now, so the
    # first test that uses a consumer group does not pay for it.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=HEALTH_GROUP,
        enable_auto_commit=False,
        request_timeout_ms=int(timeout * 1000),
    )
    await consumer.start()
    try:
        partition = TopicPartition(meta.topic, meta.partition)
        consumer.assign([partition])
        consumer.seek(partition, meta.offset)
        async with asyncio.timeout(timeout):
            while True:
                batch = await consumer.getmany(partition, timeout_ms=500)
                if any(record.value == token for record in batch.get(partition, [])):
                    break
        await consumer.commit({partition: meta.offset + 1})
    finally:
        await consumer.stop()


class _OnlyOtherThreads(logging.Filter):
    """Drops records from one thread: the health check's expected retries are not news."""

    def __init__(self, thread_id: int) -> None:
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread_id


@contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    # While the broker boots, aiokafka logs "topic not found" and "coordinator not
    # available" warnings for what is normal start-up; other threads keep their logs.
    noise = _OnlyOtherThreads(threading.get_ident())
    names = [
        "aiokafka",
        *(n for n in logging.Logger.manager.loggerDict if n.startswith("aiokafka.")),
    ]
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(noise)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(noise)


def check_round_trip(bootstrap_servers: str, timeout: float) -> None:
    try:
        with _quiet_aiokafka():
            asyncio.run(asyncio.wait_for(round_trip(bootstrap_servers, timeout), timeout + 5))
    except Exception as exc:  # any failure just means "not ready yet" to the caller
        raise StackError(f"Kafka round trip failed: {type(exc).__name__}: {exc}") from exc
