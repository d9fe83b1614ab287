"""A service whose Kafka start hangs gives that start up and tries again, instead of staying unready for good
(a restarted screening once sat 120 s with one of its subscribers started, `/readyz` 503 throughout)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from helpt_platform.service import _start_broker


class HangsOnce:
    """A broker whose first start never returns (the failure seen), and whose second one does."""

    def __init__(self) -> None:
        self.starts = self.stops = 0

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            await asyncio.Event().wait()

    async def stop(self) -> None:
        self.stops += 1


async def test_a_broker_start_that_hangs_is_abandoned_and_the_next_one_makes_the_service_ready():
    broker = HangsOnce()
    runtime = SimpleNamespace(broker=broker, kafka_started=asyncio.Event())
    await asyncio.wait_for(_start_broker(runtime, retry_s=0.01, timeout_s=0.2), 10)
    assert runtime.kafka_started.is_set()
    assert (broker.starts, broker.stops) == (2, 1)  # the hung start was stopped before the next
