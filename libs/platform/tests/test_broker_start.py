"""A service whose Kafka start hangs gives that start up and tries again, instead of staying unready for good
(a restarted screening once sat 120 s with one of its subscribers started, `/readyz` 503 throughout)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from helpt_platform.service import _start_broker, _stop_tasks


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


async def test_a_service_stops_even_when_a_background_task_swallows_its_first_cancellation():
    stopped = asyncio.Event()

    async def retrying_like_a_broker_start() -> None:
        while True:
            try:
                await asyncio.sleep(3600)  # aiokafka's close() suppresses the CancelledError that lands here
            except asyncio.CancelledError:
                break
        try:
            while True:
                await asyncio.sleep(0.01)  # ...and the retry loop goes on
        finally:
            stopped.set()

    task = asyncio.create_task(retrying_like_a_broker_start())
    await asyncio.sleep(0)
    await asyncio.wait_for(_stop_tasks([task], wait_s=0.2), 10)
    assert stopped.is_set() and task.done()
