"""Where screening's and matching's consumers spend an event: their handlers run in-process against a real
FerretDB, every store command counted and timed (PyMongo command monitoring), after the stores already hold
`--preload` volunteers and requests (the costs that grow with the store show up as growth per event).

    python -m bench.profile_consumers [--mongodb-url URL] [--preload 2000] [--events 100] [--pyinstrument]

Without --mongodb-url it starts its own FerretDB and Kafka (the bench's stack). Prints, per handler: ms per
event, store commands per event, and the commands by (command, collection) with their share of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import uuid
from collections import defaultdict
from contextlib import nullcontext

from pymongo import AsyncMongoClient, monitoring

from helpt_contracts.envelope import Envelope
from helpt_contracts.examples import help_requested, volunteer_registered


class Commands(monitoring.CommandListener):
    """Store commands by (name, collection): how many and how long."""

    def __init__(self) -> None:
        self._started: dict[int, tuple[str, str]] = {}
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self.ms: dict[tuple[str, str], float] = defaultdict(float)
        self.on = False

    def reset(self) -> None:
        self.calls.clear()
        self.ms.clear()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        coll = event.command.get(name)
        self._started[event.request_id] = (name, coll if isinstance(coll, str) else "")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._done(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._done(event)

    def _done(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent) -> None:
        key = self._started.pop(event.request_id, None)
        if key and self.on:
            self.calls[key] += 1
            self.ms[key] += event.duration_micros / 1000


def report(label: str, n: int, seconds: float, commands: Commands) -> None:
    total_calls = sum(commands.calls.values())
    total_ms = sum(commands.ms.values())
    print(f"\n{label}: {n} events, {seconds * 1000 / n:.1f} ms/event, {total_calls / n:.1f} store commands/event, "
          f"store time {total_ms / n:.1f} ms/event")
    for key, ms in sorted(commands.ms.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {key[0]:>10} {key[1]:<14} {commands.calls[key] / n:6.2f}/event {ms / n:8.2f} ms/event "
              f"{100 * ms / max(total_ms, 1e-9):5.1f} %")


async def main(url: str, preload: int, events: int, use_pyinstrument: bool, tick: bool) -> None:
    from helpt_matching.areas import load_areas
    from helpt_matching.consumers import keep as matching_keep
    from helpt_matching.needs import NeedsMatcher
    from helpt_matching.projections import Projections
    from helpt_matching.stats import Statistics
    from helpt_screening.cases import CaseStore
    from helpt_screening.domain import default_requirements

    commands = Commands()
    client = AsyncMongoClient(url, uuidRepresentation="standard", event_listeners=[commands])
    suffix = uuid.uuid4().hex[:6]
    sdb, mdb = client[f"prof_screening_{suffix}"], client[f"prof_matching_{suffix}"]
    cases = CaseStore(sdb, default_requirements())
    projections = Projections(mdb)
    matcher = NeedsMatcher(mdb, projections, load_areas, lambda: None, per_round=3, offer_ttl=dt.timedelta(hours=2))
    stats = Statistics(mdb)

    def vol():  # as intake publishes them: with the blind indexes of a phone number and an e-mail address
        return volunteer_registered(tasks=["shopping"], postcode="3000", contact_index=[uuid.uuid4().hex, uuid.uuid4().hex])

    def req():
        return help_requested(task="shopping", postcode="3000")

    async def screening(event):
        env = Envelope.for_event(event, source="intake")
        await cases.apply(env.id, env.time, event)

    async def matching(event):
        env = Envelope.for_event(event, source="intake")
        await matching_keep(projections, matcher, stats, env, event)

    t0 = time.perf_counter()
    for make, handle in ((vol, screening), (vol, matching), (req, matching)):
        for _ in range(preload):
            await handle(make())
    print(f"preloaded {preload} volunteers (screening, matching) and {preload} requests (matching) "
          f"in {time.perf_counter() - t0:.0f} s")

    profiler = None
    if use_pyinstrument:
        from pyinstrument import Profiler
        profiler = Profiler(async_mode="enabled")
    for label, make, handle in (("screening: VolunteerRegistered", vol, screening),
                                ("matching: VolunteerRegistered", vol, matching),
                                ("matching: HelpRequested", req, matching)):
        batch = [make() for _ in range(events)]
        commands.reset()
        commands.on = True
        t0 = time.perf_counter()
        with profiler or nullcontext():
            for event in batch:
                await handle(event)
        seconds = time.perf_counter() - t0
        commands.on = False
        report(label, events, seconds, commands)
    if tick:
        commands.reset()
        commands.on = True
        t0 = time.perf_counter()
        await matcher.tick(("leuven",), dt.datetime.now(dt.UTC))
        commands.on = False
        report("matching: one clock tick (expiry + offer every waiting request)", 1, time.perf_counter() - t0, commands)
    if profiler is not None:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    await client.drop_database(sdb.name)
    await client.drop_database(mdb.name)
    await client.close()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_consumers", description=__doc__)
    parser.add_argument("--mongodb-url")
    parser.add_argument("--preload", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--no-tick", action="store_true", help="leave out the matching clock's tick")
    args = parser.parse_args()
    stack = None
    url = args.mongodb_url
    if url is None:
        from bench.stack import BenchStack
        stack = BenchStack()
        stack.start()
        url = stack.mongodb_url
    try:
        asyncio.run(main(url, args.preload, args.events, args.pyinstrument, not args.no_tick))
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    cli()
