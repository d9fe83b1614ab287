"""Kafka access control on the real broker: a partner's credentials read its own topic and nothing else.

The local stack runs with its SASL/SCRAM listener; `kafka_security.plan` (the same plan the
production `kafka-acls.sh` commands come from) is applied through the admin API, and partners
connect as a partner's own consumer would: librdkafka, SCRAM-SHA-512, a group of their own.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from helpt_contracts import topics
from helpt_localstack import kafka_security
from helpt_localstack.stack import LocalStack
from helpt_matching.settings import MatchingSettings
from helpt_platform.kafka import create_broker

pytestmark = pytest.mark.infra
PASSWORDS = {"partner-woonzorg-leuven": "pw-a-" + uuid.uuid4().hex, "partner-thuiszorg-oost": "pw-b-" + uuid.uuid4().hex,
             "helpt-matching": "pw-m-" + uuid.uuid4().hex}


@pytest.fixture(scope="module")
def secured(tmp_path_factory, infra):  # infra: the tools are installed and the session's stack is up
    stack = LocalStack(tmp_path_factory.mktemp("acl-stack"), kafka_port=0, kafka_controller_port=0, mongodb_port=0,
                       kafka_sasl_port=0)
    stack.start()
    try:
        kafka_security.apply(stack.bootstrap_servers, kafka_security.plan("", ["woonzorg-leuven", "thuiszorg-oost"]), PASSWORDS)
        producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
        for org in ("woonzorg-leuven", "thuiszorg-oost"):
            producer.produce(topics.partner_topic(org), key=b"r", value=f'{{"organisation": "{org}"}}'.encode())
        for topic in (topics.MATCHES, topics.HELP_REQUESTS):  # created up front, as the deployment's init job does
            producer.produce(topic, key=b"r", value=b"{}")
        assert producer.flush(30) == 0
        yield stack
    finally:
        stack.stop()


def sasl(stack: LocalStack, user: str, password: str, **extra: str) -> dict[str, str]:
    return {"bootstrap.servers": f"127.0.0.1:{stack.kafka_sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": password, **extra}


def read(stack: LocalStack, user: str, password: str, topic: str, group: str) -> list[bytes] | KafkaError:
    """What `user` reads off `topic` in `group` from the earliest offset, or the error the broker answers."""
    refused: list[KafkaError] = []  # a failed sign-in is reported through the error callback, not as a message
    consumer = Consumer(sasl(stack, user, password, **{"group.id": group, "auto.offset.reset": "earliest",
                                                        "enable.auto.commit": "false", "error_cb": refused.append}))
    consumer.subscribe([topic])
    try:
        values: list[bytes] = []
        give_up = time.monotonic() + 30
        while time.monotonic() < give_up and not values:
            if any(e.code() == KafkaError._AUTHENTICATION for e in refused):
                return next(e for e in refused if e.code() == KafkaError._AUTHENTICATION)
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
                                              KafkaError._TRANSPORT, KafkaError.SASL_AUTHENTICATION_FAILED):
                    return message.error()
                continue
            values.append(message.value())
        return values
    except KafkaException as exc:
        return exc.args[0]
    finally:
        consumer.close()


def test_a_partner_reads_its_own_topic_with_its_own_credentials(secured):
    got = read(secured, "partner-woonzorg-leuven", PASSWORDS["partner-woonzorg-leuven"],
               topics.partner_topic("woonzorg-leuven"), "partner.woonzorg-leuven.feed")
    assert got == [b'{"organisation": "woonzorg-leuven"}']


def test_partner_as_credentials_cannot_read_partner_bs_topic(secured):
    got = read(secured, "partner-woonzorg-leuven", PASSWORDS["partner-woonzorg-leuven"],
               topics.partner_topic("thuiszorg-oost"), "partner.woonzorg-leuven.peek")
    assert isinstance(got, KafkaError) and got.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, got


def test_a_partner_cannot_read_the_citys_topics_or_borrow_a_services_group(secured):
    got = read(secured, "partner-woonzorg-leuven", PASSWORDS["partner-woonzorg-leuven"], topics.MATCHES, "helpt-matching.peek")
    assert isinstance(got, KafkaError) and got.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                                           KafkaError.GROUP_AUTHORIZATION_FAILED), got


def test_a_wrong_password_is_refused(secured):
    got = read(secured, "partner-woonzorg-leuven", "guess", topics.partner_topic("woonzorg-leuven"), "partner.woonzorg-leuven.x")
    assert isinstance(got, KafkaError) and got.code() == KafkaError._AUTHENTICATION, got


def test_the_plan_gives_each_partner_one_topic_and_matching_the_partner_topics_to_write():
    acls = kafka_security.plan("p.", ["woonzorg-leuven"])
    partner = [a for a in acls if a.principal == "User:partner-woonzorg-leuven"]
    assert {(a.resource, a.name, a.pattern, a.operation) for a in partner} == {
        ("topic", "p.matching.partner.woonzorg-leuven.v1", "literal", "read"),
        ("topic", "p.matching.partner.woonzorg-leuven.v1", "literal", "describe"),
        ("group", "p.partner.woonzorg-leuven.", "prefixed", "read")}
    matching_writes = {a.name for a in acls if a.principal == "User:helpt-matching" and a.operation == "write"}
    assert "p.matching.partner." in matching_writes and "p.matching.matches.v1" in matching_writes
    assert "p.intake.help-requests.v1" not in matching_writes, "a service writes only its own topics"
    lines = kafka_security.shell(acls)
    assert any("--allow-principal User:partner-woonzorg-leuven --operation Read --topic p.matching.partner.woonzorg-leuven.v1"
               in line for line in lines)


async def test_a_service_signs_in_as_itself_and_writes_only_its_own_topics(secured):
    """Matching, with its own SCRAM user (HELPT_MATCHING_KAFKA_SASL_*), publishes matches; intake's topic is not its to write."""
    settings = MatchingSettings(kafka_bootstrap_servers=f"127.0.0.1:{secured.kafka_sasl_port}",
                                kafka_sasl_username="helpt-matching", kafka_sasl_password=PASSWORDS["helpt-matching"])
    broker = create_broker(settings)
    await broker.start()
    try:
        await broker.publish(b"{}", topics.MATCHES, key=b"r")  # its own topic: accepted (acks=all)
        with pytest.raises(Exception) as refused:
            await asyncio.wait_for(broker.publish(b"{}", topics.HELP_REQUESTS, key=b"r"), 30)
        assert "Authorization" in type(refused.value).__name__ or "authoriz" in str(refused.value).lower(), refused.value
    finally:
        await broker.stop()
