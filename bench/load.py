"""Closed-loop load: `concurrency` workers, each sending as soon as its last answer came, for `seconds`."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from bench.common import percentile


@dataclass
class LoadResult:
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    finished: int = 0  # every send that finished, the warm-up's too (what a CPU meter around the loop saw)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)


async def closed_loop(send: Callable[[int], Awaitable[bool]], concurrency: int, seconds: float,
                      warmup_s: float = 1.0) -> LoadResult:
    """Run `send(i)` from `concurrency` workers; count and time only what finished after the warm-up."""
    result = LoadResult()
    counter = itertools.count()
    start = time.perf_counter()
    measure_from = start + warmup_s
    end = measure_from + seconds

    async def worker() -> None:
        while (now := time.perf_counter()) < end:
            ok = await send(next(counter))
            done = time.perf_counter()
            result.finished += 1
            if now >= measure_from:
                if ok:
                    result.ok += 1
                    result.latencies_ms.append((done - now) * 1000)
                else:
                    result.failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = max(time.perf_counter(), end) - measure_from
    return result


def help_request_body(task: str = "shopping", postcode: str = "3000") -> dict:
    return {"task": task, "postcode": postcode, "languages": ["nl", "en"], "consent": True,
            "contact": {"name": "Bench Requester", "phone": "0470 12 34 56"}}


def volunteer_body() -> dict:
    return {"tasks": ["shopping", "dog-walking"], "postcode": "3000", "languages": ["nl", "en"], "is_adult": True,
            "consent": True, "contact": {"name": "Bench Volunteer", "email": "bench.volunteer@example.org"}}


def api_sender(client: httpx.AsyncClient, urls: list[str], path: str, body: Callable[[int], dict],
               headers: dict[str, str] | None = None, statuses: dict[int, int] | None = None) -> Callable[[int], Awaitable[bool]]:
    """POST to the intake processes in turn; True on 202."""

    async def send(i: int) -> bool:
        try:
            r = await client.post(urls[i % len(urls)] + path, json=body(i),
                                  headers={**(headers or {}), "Idempotency-Key": uuid.uuid4().hex})
        except httpx.HTTPError:
            if statuses is not None:
                statuses[-1] = statuses.get(-1, 0) + 1
            return False
        if statuses is not None:
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        return r.status_code == 202

    return send
