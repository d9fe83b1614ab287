"""Dead letters: list, show and replay what the services set aside — what `make deadletters` runs.

    python -m helpt_platform.dlt list                      every `*.dlt` topic: one line per dead letter
    python -m helpt_platform.dlt show TOPIC.dlt OFFSET     one dead letter: why, where from, headers, body
    python -m helpt_platform.dlt replay TOPIC.dlt OFFSET   send it back to the topic it came from
    python -m helpt_platform.dlt replay TOPIC.dlt --all    send every dead letter of that topic back

`--bootstrap` and `--prefix` default to HELPT_KAFKA_BOOTSTRAP_SERVERS and HELPT_TOPIC_PREFIX.
A replayed message keeps its key, body and original headers (so its event id: consumers that
applied it already drop it), without the `dlt_*` headers, plus `dlt_replayed_from` naming the
dead letter. Replay after fixing the cause; a message that still fails comes back as a new dead
letter. Bodies hold sealed personal data only, but `show` prints at most `--bytes` of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from helpt_contracts.topics import DEAD_LETTER_SUFFIX

__all__ = ["DeadLetter", "dead_letter_topics", "main", "read_dead_letters", "replay"]


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str:
        return next((v.decode("utf-8", "replace") for k, v in self.headers if k == name), "")

    @property
    def origin(self) -> str:
        """The topic it was consumed from (its `dlt_topic` header, else the dead-letter topic's name without `.dlt`)."""
        return self.header("dlt_topic") or self.topic.removesuffix(DEAD_LETTER_SUFFIX)

    def line(self) -> str:
        return (f"{self.topic} @{self.offset}  from {self.origin}[{self.header('dlt_partition')}]@{self.header('dlt_offset')}"
                f"  {self.header('ce_type') or '(no type)'}  by {self.header('dlt_service') or '?'}"
                f"  after {self.header('dlt_attempts') or '?'} attempt(s) at {self.header('dlt_time')}: {self.header('dlt_error')}")


async def dead_letter_topics(bootstrap: str, prefix: str = "") -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    return sorted(t for t in names if t.endswith(DEAD_LETTER_SUFFIX) and t.startswith(prefix))


async def read_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every record now on one dead-letter topic, oldest first per partition (no consumer group, nothing committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - first look at a topic: fetch its metadata
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[DeadLetter] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                found.extend(DeadLetter(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers)) for r in records)
        return sorted(found, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


async def replay(bootstrap: str, letters: Sequence[DeadLetter]) -> int:
    """Send dead letters back to where they came from (acks=all, idempotent producer); how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for letter in letters:
            headers = [(k, v) for k, v in letter.headers if not k.startswith("dlt_")]
            headers.append(("dlt_replayed_from", f"{letter.topic}[{letter.partition}]@{letter.offset}".encode()))
            await producer.send_and_wait(letter.origin, letter.value, key=letter.key, headers=headers)
    finally:
        await producer.stop()
    return len(letters)


def _show(letter: DeadLetter, limit: int, out: TextIO) -> None:
    print(letter.line(), file=out)
    print(f"key: {letter.key.decode('utf-8', 'replace') if letter.key else '(none)'}", file=out)
    for name, value in letter.headers:
        print(f"  {name}: {value.decode('utf-8', 'replace')}", file=out)
    body = letter.value[:limit].decode("utf-8", "replace")
    more = f"  … ({len(letter.value) - limit} more bytes; --bytes to see them)" if len(letter.value) > limit else ""
    print(f"body ({len(letter.value)} bytes):\n{body}{more}", file=out)


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "list":
        topics = [args.topic] if args.topic else await dead_letter_topics(args.bootstrap, args.prefix)
        total = 0
        for topic in topics:
            for letter in await read_dead_letters(args.bootstrap, topic):
                print(letter.line(), file=out)
                total += 1
        print(f"{total} dead letter(s) on {len(topics)} topic(s)", file=out)
        return 0
    if not args.topic.endswith(DEAD_LETTER_SUFFIX):
        print(f"{args.topic} is not a dead-letter topic (its name ends in {DEAD_LETTER_SUFFIX})", file=sys.stderr)
        return 2
    letters = await read_dead_letters(args.bootstrap, args.topic)
    if args.command == "replay" and args.all:
        chosen = letters
    else:
        chosen = [d for d in letters if d.offset == args.offset and (args.partition is None or d.partition == args.partition)]
        if not chosen:
            print(f"no dead letter at offset {args.offset} on {args.topic}", file=sys.stderr)
            return 1
        if len(chosen) > 1:
            print(f"offset {args.offset} is on several partitions of {args.topic}: name one with --partition", file=sys.stderr)
            return 2
    if args.command == "show":
        _show(chosen[0], args.bytes, out)
        return 0
    sent = await replay(args.bootstrap, chosen)
    for letter in chosen:
        print(f"replayed {letter.topic}[{letter.partition}]@{letter.offset} to {letter.origin}", file=out)
    print(f"{sent} dead letter(s) replayed", file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="make deadletters", description="List, show and replay dead letters.")
    parser.add_argument("--bootstrap", default=os.environ.get("HELPT_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--prefix", default=os.environ.get("HELPT_TOPIC_PREFIX", ""), help="topic prefix of the deployment")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="one line per dead letter")
    listing.add_argument("topic", nargs="?", help="one dead-letter topic (default: all)")
    for name in ("show", "replay"):
        command = commands.add_parser(name, help=f"{name} a dead letter")
        command.add_argument("topic", help="the dead-letter topic, e.g. intake.volunteers.v1.dlt")
        command.add_argument("offset", nargs="?", type=int)
        command.add_argument("--partition", type=int, default=None)
        if name == "show":
            command.add_argument("--bytes", type=int, default=2000, help="how much of the body to print")
        else:
            command.add_argument("--all", action="store_true", help="every dead letter on the topic")
    args = parser.parse_args(argv)
    if args.command in ("show", "replay") and args.offset is None and not getattr(args, "all", False):
        parser.error(f"{args.command} needs an OFFSET" + (" or --all" if args.command == "replay" else ""))
    try:
        return asyncio.run(_run(args, out))
    except KafkaConnectionError:
        print(f"Kafka does not answer at {args.bootstrap}: is the stack running (make run)? Or set --bootstrap.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
