"""Rebuild matching's projections and statistics from the topics: `python -m helpt_matching.rebuild` (`make rebuild-matching`).

When: the `requests`/`volunteers` projections or the `statistics` were lost or are suspect (a
restored backup, a bug fixed in a fold, a store wiped while Kafka kept its topics). Stop the
matching service first; a running one is not harmed (every write is idempotent), but the
projections are briefly empty while they refill.

How: `facts`, `requests`, `volunteers`, `eligible`, their version claims and `statistics` are dropped, then
intake.help-requests.v1, intake.volunteers.v1, screening.decisions.v1 and matching.matches.v1 are
read from the earliest offset with a consumer of its own (no group: the service's offsets are
untouched) and folded exactly as the service folds them. No offer is made and nothing is
published. Finally the erasures and purges on gdpr.commands.v1 are applied again (without
receipts: gdpr has them), so a rebuild never brings back a person who was erased — their events
are still on the topics, sealed with destroyed keys. Offers and their decision claims are left as
they are: they are decisions, not projections. Running it twice gives the same result.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer

from helpt_contracts import topics
from helpt_contracts.envelope import Envelope, EnvelopeError, decode_event
from helpt_contracts.events import CrisisPurgeRequested, Event, SubjectErasureRequested
from helpt_platform.logs import configure_logging, get_logger
from helpt_platform.mongo import create_mongo_client, service_database
from helpt_platform.purge import carry_out_gdpr_command
from helpt_matching.projections import Projections
from helpt_matching.settings import MatchingSettings
from helpt_matching.stats import Statistics

__all__ = ["main", "rebuild"]

log = get_logger(__name__)
# Requests before matches: a match's waiting time is read from its request's record.
FOLDED = (topics.HELP_REQUESTS, topics.VOLUNTEERS, topics.SCREENING_DECISIONS, topics.MATCHES)


async def _events(settings: MatchingSettings, topic: str) -> AsyncIterator[tuple[Envelope, Event]]:
    """Every decodable event now on `topic` (prefix applied), oldest first per partition; then stop."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(name, bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        if name not in await consumer.topics():
            return  # nothing was ever published there
        # Without a group, the consumer takes every partition of the topic once it has read its metadata.
        for _ in range(200):
            if partitions := consumer.assignment():
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"no partitions of {name} assigned")
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(list(partitions))
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batches = await consumer.getmany(timeout_ms=2000, max_records=500)
            for tp, records in sorted(batches.items(), key=lambda item: item[0].partition):
                for record in records:
                    if record.offset >= ends[tp]:
                        continue  # arrived after the rebuild began: the service will fold it
                    try:
                        yield decode_event(record.headers, record.value or b"")
                    except EnvelopeError:
                        log.warning("undecodable record skipped", topic=topic, partition=tp.partition, offset=record.offset)
    finally:
        await consumer.stop()


async def rebuild(settings: MatchingSettings) -> dict[str, int]:
    """Drop and refold the projections and statistics from the topics; how many events each topic gave."""
    mongo = create_mongo_client(settings)
    try:
        db = service_database(mongo, settings)
        for name in ("facts", "requests", "volunteers", "eligible", "statistics"):
            await db[name].drop()
        await db["claims"].delete_many({"_id": {"$regex": "^(request|volunteer):"}})
        projections, statistics = Projections(db), Statistics(db)
        read: dict[str, int] = {}
        for topic in FOLDED:
            read[topic] = 0
            async for envelope, event in _events(settings, topic):
                read[topic] += 1
                try:
                    await statistics.record(envelope, event)
                except LookupError:
                    # A match whose request the topic no longer holds (retention): the request's facts are gone too.
                    log.warning("match of an unknown request not counted", event_id=str(envelope.id))
                await projections.apply(envelope.id, envelope.time, event)
        read[topics.GDPR_COMMANDS] = 0
        async for _envelope, command in _events(settings, topics.GDPR_COMMANDS):
            if isinstance(command, SubjectErasureRequested | CrisisPurgeRequested):
                read[topics.GDPR_COMMANDS] += 1
                await carry_out_gdpr_command(command, db, _no_receipt, service=settings.service)
        log.info("matching rebuilt", **{topic.replace(".", "_"): n for topic, n in read.items()})
        return read
    finally:
        await mongo.close()


async def _no_receipt(_receipt: Any) -> None:
    return None  # gdpr holds the receipt of the first time


def main(argv: list[str] | None = None) -> int:
    """`python -m helpt_matching.rebuild`: the settings come from the environment (HELPT_MATCHING_*), as the service's."""
    parser = argparse.ArgumentParser(prog="python -m helpt_matching.rebuild", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    settings = MatchingSettings()
    configure_logging(settings.service.value, level=settings.log_level, json=settings.log_json)
    read = asyncio.run(rebuild(settings))
    print("rebuilt from " + ", ".join(f"{topic}: {n} events" for topic, n in read.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
