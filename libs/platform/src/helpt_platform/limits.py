"""Limits every service puts on its callers: body size, body time, and writes per address.

`RequestLimits` is an ASGI middleware that `create_service_app` puts around every service:

- a body larger than `max_body_bytes` is refused with 413 before it is read in full — at once when
  its Content-Length says so, else as soon as the bytes received pass the limit (chunked bodies);
- a body that has not arrived in full `body_timeout_s` seconds after the request began (a client
  trickling it byte by byte) is answered 408 and the connection closed; uvicorn itself bounds
  only idle keep-alive connections, not a slow body, and each trickler holds a connection;
- a client address sending more than `write_rate_limit` writes (POST, PUT, PATCH, DELETE under
  `/api/`) in `write_rate_window_s` seconds is answered 429 with Retry-After; reads, health and
  readiness are never limited. `write_rate_limit = 0` turns it off.

The limits are read from `app.state.request_limits` (a `Limits`) on every request.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpt_platform.logs import get_logger

__all__ = ["Limits", "RateLimiter", "RequestLimits", "client_address"]

log = get_logger(__name__)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimiter:
    """At most `limit` events per client in a sliding window of `window_s` seconds (per process)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit, self._window, self._clock = limit, window_s, clock
        self._seen: dict[str, collections.deque[float]] = {}

    def allow(self, client: str) -> bool:
        """Count one event of `client`, unless it has had its `limit` in the window (then False)."""
        now = self._clock()
        if len(self._seen) > 10_000:  # forget clients that have been quiet for a window
            self._seen = {k: q for k, q in self._seen.items() if q and q[-1] > now - self._window}
        times = self._seen.setdefault(client, collections.deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) >= self._limit:
            return False
        times.append(now)
        return True

    def retry_after(self, client: str) -> int:
        """Whole seconds until `client` may send again (at least 1)."""
        times = self._seen.get(client)
        if not times:
            return 1
        return max(1, math.ceil(times[0] + self._window - self._clock()))


def client_address(scope: Scope, *, trust_forwarded_for: bool) -> str:
    """The caller's address: the peer's, or the first X-Forwarded-For hop behind a proxy that sets it."""
    if trust_forwarded_for:
        for name, value in scope.get("headers") or ():
            if name == b"x-forwarded-for" and value.strip():
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


@dataclass
class Limits:
    """The limits of one service (from its settings; tests may put tighter ones in `app.state.request_limits`)."""

    max_body_bytes: int = 256 * 1024
    body_timeout_s: float = 30.0
    write_rate_limit: int = 600
    write_rate_window_s: float = 60.0
    trust_forwarded_for: bool = False

    def __post_init__(self) -> None:
        self.writes = RateLimiter(self.write_rate_limit, self.write_rate_window_s) if self.write_rate_limit else None


# HTTPExceptions, so that FastAPI's body parsing passes them on (it turns any other error into a 400)
# and the app's handler answers them as JSON while the response has not started.
class _BodyTooLarge(HTTPException):
    def __init__(self, limits: Limits) -> None:
        super().__init__(413, _too_large(limits), {"connection": "close"})


class _BodyTooSlow(HTTPException):
    def __init__(self, limits: Limits) -> None:
        super().__init__(408, f"the request body did not arrive within {limits.body_timeout_s:g} seconds",
                         {"connection": "close"})


class RequestLimits:
    """ASGI middleware: the body size and time limits and the per-address write limit (see the module)."""

    def __init__(self, app: ASGIApp, limits: Callable[[Scope], Limits]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits(scope)
        method, path = scope["method"], scope["path"]
        if limits.writes is not None and method in WRITES and path.startswith("/api/"):
            client = client_address(scope, trust_forwarded_for=limits.trust_forwarded_for)
            if not limits.writes.allow(client):
                log.warning("write rate limit reached", path=path)  # not the address: it identifies a person
                wait = limits.writes.retry_after(client)
                await _answer(send, 429, f"too many changes from this address; try again in {wait} seconds",
                              {"retry-after": str(wait)})
                return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_body_bytes:
            await _answer(send, 413, _too_large(limits), {"connection": "close"})
            return
        started = False
        received = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limits.body_timeout_s
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()  # after the body: only a disconnect can come; wait for it as usual
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                log.warning("request body too slow; cut off", path=path)
                raise _BodyTooSlow(limits) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.max_body_bytes:
                    raise _BodyTooLarge(limits)
                body_done = not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except* (_BodyTooLarge, _BodyTooSlow) as group:  # raised where no handler answered them
            refusal = group.exceptions[0]
            assert isinstance(refusal, HTTPException)
            if not started:
                await _answer(send, refusal.status_code, refusal.detail, refusal.headers or {})


def _too_large(limits: Limits) -> str:
    return f"the request body must be at most {limits.max_body_bytes // 1024} KB"


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def limits_from(settings: Any) -> Limits:
    """The `Limits` a service's settings ask for."""
    return Limits(max_body_bytes=settings.max_body_bytes, body_timeout_s=settings.body_timeout_s,
                  write_rate_limit=settings.write_rate_limit, write_rate_window_s=settings.write_rate_window_s,
                  trust_forwarded_for=settings.trust_forwarded_for)
